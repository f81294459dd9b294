// A configuration that cannot be used: every problem found, each with its
// file and line as parse.y's yyerror prints them ("ifstated.conf:12: syntax error").

export interface ConfigProblem {
  line: number;
  message: string;
}

export class IfstatedConfigError extends Error {
  override name = 'IfstatedConfigError';
  constructor(readonly file: string, readonly problems: readonly ConfigProblem[]) {
    super(problems.map((problem) => `${file}:${problem.line}: ${problem.message}`).join('\n'));
  }
}
