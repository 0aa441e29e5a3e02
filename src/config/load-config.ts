import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Compile } from 'typebox/compile';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, type BasketConfig } from './config-schema';
import { SETTINGS, type Setting } from './settings';

/** A bad setting stops start-up; the message names the setting and where it came from. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Directory holding application.yaml and application-{profile}.yaml; default: the working directory. */
  configDir?: string;
}

const checker = Compile(ConfigSchema);

/**
 * Loads application.yaml, then application-{profile}.yaml for each profile in BASKET_PROFILES
 * (comma separated), then the environment, over the defaults in SETTINGS; validates the result.
 */
export function loadConfig(options: LoadConfigOptions = {}): BasketConfig {
  const env = options.env ?? process.env;
  const dir = options.configDir ?? env.BASKET_CONFIG_DIR ?? process.cwd();
  const files = ['application.yaml'];
  for (const profile of (env.BASKET_PROFILES ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    files.push(`application-${profile}.yaml`);
  }
  const layers = files.map((name) => ({ name, doc: readYaml(join(dir, name)) })).filter((l) => l.doc !== undefined);

  const config: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    let value: unknown = setting.default;
    let source = 'default';
    for (const layer of layers) {
      const found = lookup(layer.doc, setting.yaml);
      if (found !== undefined) {
        value = coerce(setting, found, `${layer.name} ${setting.yaml}`);
        source = `${layer.name} ${setting.yaml}`;
      }
    }
    const fromEnv = env[setting.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      source = `environment variable ${setting.env}`;
      value = coerce(setting, fromEnv, source);
    }
    assign(config, setting.path, value);
    const problem = firstProblem(setting, value);
    if (problem !== undefined) throw new ConfigError(`Invalid ${source} = ${JSON.stringify(value)}: ${problem}`);
  }
  if (!checker.Check(config)) {
    const [first] = [...checker.Errors(config)];
    throw new ConfigError(`Invalid configuration at ${first?.instancePath ?? '?'}: ${first?.message ?? 'unknown problem'}`);
  }
  return config as BasketConfig;
}

function readYaml(path: string): unknown {
  if (!existsSync(path)) return undefined;
  try {
    return parseYaml(readFileSync(path, 'utf8')) ?? {};
  } catch (err) {
    throw new ConfigError(`Cannot parse ${path}: ${(err as Error).message}`);
  }
}

function lookup(doc: unknown, dotted: string): unknown {
  let node = doc;
  for (const part of dotted.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function assign(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function coerce(setting: Setting, raw: unknown, source: string): unknown {
  if (typeof raw !== 'string') {
    if (setting.kind === 'list' && typeof raw === 'object' && Array.isArray(raw)) return raw.map(String);
    if (setting.kind === 'list' || setting.kind === 'string') return String(raw);
    return raw;
  }
  switch (setting.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`Invalid ${source} = "${raw}": expected an integer`);
      return Number(raw.trim());
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (v === 'true' || v === '1' || v === 'yes') return true;
      if (v === 'false' || v === '0' || v === 'no') return false;
      throw new ConfigError(`Invalid ${source} = "${raw}": expected true or false`);
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return raw;
  }
}

/** Checks one setting against its part of the schema, so the error names the setting. */
function firstProblem(setting: Setting, value: unknown): string | undefined {
  const partial: Record<string, unknown> = {};
  assign(partial, setting.path, value);
  const errors = [...checker.Errors({ ...defaultsObject(), ...merge(partial) })];
  const mine = errors.find((e) => e.instancePath.replace(/^\//, '').replace(/\//g, '.').startsWith(setting.path));
  if (mine === undefined) return undefined;
  const allowed = (mine as { params?: unknown }).params;
  return `${mine.message}${allowed ? ` ${JSON.stringify(allowed)}` : ''}`;
}

let cachedDefaults: Record<string, unknown> | undefined;
function defaultsObject(): Record<string, unknown> {
  if (cachedDefaults === undefined) {
    cachedDefaults = {};
    for (const s of SETTINGS) assign(cachedDefaults, s.path, s.default);
  }
  return structuredClone(cachedDefaults);
}

function merge(partial: Record<string, unknown>): Record<string, unknown> {
  const base = defaultsObject();
  for (const [k, v] of Object.entries(partial)) {
    base[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...(base[k] as object), ...(v as object) } : v;
  }
  return base;
}
