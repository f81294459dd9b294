// An expression's value from its terms' values. ifstated.c propagates truth
// bottom-up, one depth level at a time, from the terms that changed; on a tree
// that gives each node the value a recursive evaluation gives, which is what
// this does (the expressions are small: every node is visited per event).
import { assertNever } from '@openbsd38/libutil/assert.js';
import type { Action, Expression, Term } from '../config/ast.js';

export function evaluate(expression: Expression, termValue: (term: Term) => boolean): boolean {
  switch (expression.kind) {
    case 'not': return !evaluate(expression.operand, termValue);
    case 'and': {
      // Both sides, as ifstated.c (no side effects either way: terms are only read).
      const left = evaluate(expression.left, termValue);
      const right = evaluate(expression.right, termValue);
      return left && right;
    }
    case 'or': {
      const left = evaluate(expression.left, termValue);
      const right = evaluate(expression.right, termValue);
      return left || right;
    }
    case 'link': case 'address': case 'external': return termValue(expression);
    default: return assertNever(expression);
  }
}

/** Every term of every condition in `actions`, nested ifs included, in the file's order. */
export function termsOf(actions: readonly Action[]): Term[] {
  const found: Term[] = [];
  const walk = (expression: Expression): void => {
    switch (expression.kind) {
      case 'not': walk(expression.operand); break;
      case 'and': case 'or': walk(expression.left); walk(expression.right); break;
      default: found.push(expression);
    }
  };
  const visit = (list: readonly Action[]): void => {
    for (const action of list) {
      if (action.kind !== 'if') continue;
      walk(action.condition);
      visit(action.actions);
    }
  };
  visit(actions);
  return found;
}
