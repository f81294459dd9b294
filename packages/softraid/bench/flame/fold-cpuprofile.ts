// Folds a V8 .cpuprofile (node --cpu-prof): each sample's stack from the
// profile's tree, weighted by the microseconds it covers (as
// cpuprofile-summary.ts counts them). Frames are "function file:line".
import { locationOf, type CpuProfile } from '../cpuprofile-summary.js';
import { addStack, type FoldedStacks } from './folded.js';

export function foldCpuProfile(profile: CpuProfile, options: { withIdle?: boolean } = {}): FoldedStacks {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const stacks = new Map<number, string[]>();
  const stackOf = (nodeId: number): string[] => {
    let frames = stacks.get(nodeId);
    if (frames !== undefined) return frames;
    frames = [];
    for (let id: number | undefined = nodeId; id !== undefined; id = parentOf.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (frame === undefined) throw new Error(`cpuprofile: sample names node ${id}, which is not in the profile`);
      if (frame.functionName === '(root)') continue;
      const location = locationOf(frame);
      frames.unshift(`${frame.functionName === '' ? '(anonymous)' : frame.functionName}${location === '' ? '' : ` ${location}`}`);
    }
    stacks.set(nodeId, frames);
    return frames;
  };
  const folded: FoldedStacks = new Map();
  profile.samples.forEach((nodeId, index) => {
    const frames = stackOf(nodeId);
    if (!options.withIdle && frames.length === 1 && frames[0] === '(idle)') return;
    addStack(folded, frames, Math.max(0, profile.timeDeltas[index + 1] ?? 0));
  });
  return folded;
}
