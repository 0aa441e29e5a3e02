import { EngineError } from './engine-error';

/** Kafka's rule for topic names: [a-zA-Z0-9._-], 1..249 characters, not "." or "..". */
export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

export function topicNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'Topic name is empty';
  if (name === '.' || name === '..') return `Topic name cannot be '${name}'`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `Topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`;
  if (!LEGAL.test(name)) return `Topic name '${name}' is illegal: only ASCII letters, digits, '.', '_' and '-' are allowed`;
  return undefined;
}

export function assertValidTopicName(name: string): void {
  const problem = topicNameProblem(name);
  if (problem !== undefined) throw new EngineError('INVALID_TOPIC_EXCEPTION', problem);
}

/** Internal topics hold coordinator state; clients may read them but not write them. */
export function isInternalTopic(name: string): boolean {
  return name.startsWith('__');
}
