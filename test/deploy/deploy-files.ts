import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SETTINGS } from '../../src/config/settings';

/** Reading deploy/ and the files its contents must agree with (Dockerfile, settings, OpenAPI). */
export const ROOT = join(__dirname, '..', '..', '..');
export const DEPLOY = join(ROOT, 'deploy');

export function filesUnder(dir: string, suffixes: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, suffixes));
    else if (suffixes.some((s) => name.endsWith(s))) out.push(path);
  }
  return out;
}

/** Every document of a YAML file as plain data; throws on any parse error or warning. */
export function yamlDocuments(path: string): any[] {
  // merge: compose files share service settings through '<<: *anchor' (YAML 1.1 merge keys)
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), { merge: true });
  if (!Array.isArray(docs)) return [];
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${path}: ${problems.map((p) => p.message).join('; ')}`);
  }
  return docs.map((d) => d.toJS()).filter((d) => d !== null && d !== undefined);
}

export const SETTING_ENVS = new Set(SETTINGS.map((s) => s.env));

/** The default of a setting, as the text an environment variable would carry. */
export function settingDefault(env: string): string {
  const setting = SETTINGS.find((s) => s.env === env);
  if (setting === undefined) throw new Error(`no setting ${env}`);
  return Array.isArray(setting.default) ? setting.default.join(',') : String(setting.default);
}

export function openapiPaths(): Set<string> {
  const spec = JSON.parse(readFileSync(join(ROOT, 'openapi', 'openapi.json'), 'utf8')) as { paths: Record<string, unknown> };
  return new Set(Object.keys(spec.paths));
}

export interface DockerfileFacts {
  exposedPort: number;
  user: string;
  env: Map<string, string>;
}

/** The runtime stage's EXPOSE, USER and ENV (the last of each, as Docker applies them). */
export function dockerfileFacts(): DockerfileFacts {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const last = (re: RegExp) => [...runtime.matchAll(re)].pop()?.[1];
  const env = new Map<string, string>();
  for (const line of runtime.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of line[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  return { exposedPort: Number(last(/^EXPOSE\s+(\d+)/gm)), user: last(/^USER\s+(\S+)/gm) ?? 'root', env };
}

/** "20s", "1m30s", "500ms" as compose writes durations, in ms. */
export function composeDurationMs(text: string): number {
  let ms = 0;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a compose duration: ${text}`);
  for (const [, n, unit] of parts) ms += Number(n) * units[unit!]!;
  return ms;
}
