// str2locator(): "channel:target[.lun]", each part strtonum(0, 256).
import type { Locator } from '@openbsd38/bio/control/messages.js';

/** strtonum()'s verdicts: "invalid", "too small", "too large". */
export function strtonum(text: string, min: number, max: number): { value: number } | { error: string } {
  if (!/^\s*[+-]?[0-9]+$/.test(text)) return { error: 'invalid' };
  const value = Number(text.trim());
  if (value < min) return { error: 'too small' };
  if (value > max) return { error: 'too large' };
  return { value };
}

export function parseLocator(text: string): Locator | { error: string } {
  const colon = text.indexOf(':');
  if (colon === -1) return { error: 'target not specified' };
  const channelText = text.slice(0, colon);
  let targetText = text.slice(colon + 1);
  let lun = 0;
  const dot = targetText.indexOf('.');
  if (dot !== -1) {
    const parsed = strtonum(targetText.slice(dot + 1), 0, 256);
    if ('error' in parsed) return parsed;
    lun = parsed.value;
    targetText = targetText.slice(0, dot);
  }
  const target = strtonum(targetText, 0, 256);
  if ('error' in target) return target;
  const channel = strtonum(channelText, 0, 256);
  if ('error' in channel) return channel;
  return { channel: channel.value, target: target.value, lun };
}
