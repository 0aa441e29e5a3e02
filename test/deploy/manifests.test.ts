import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  DEPLOY,
  ROOT,
  SETTING_ENVS,
  composeDurationMs,
  dockerfileFacts,
  filesUnder,
  openapiPaths,
  settingDefault,
  yamlDocuments,
} from './deploy-files';

/**
 * deploy/ cannot be run here (no container engine, no cluster), so these tests check what can go
 * wrong in it without running it: every YAML file parses, probes and health checks name actuator
 * paths the server has, environment names are settings Basket reads, ports agree with the
 * Dockerfile, and shutdown allowances cover BASKET_SHUTDOWN_GRACE_MS.
 */
const LIVENESS = '/actuator/health/liveness';
const READINESS = '/actuator/health/readiness';
const COMPOSE = join(DEPLOY, 'docker-compose.yaml');
const HAPROXY = join(DEPLOY, 'haproxy', 'haproxy.cfg');
const K8S = join(DEPLOY, 'kubernetes');

function envOf(service: any): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e: string) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

function compose(): { services: Record<string, any>; baskets: [string, any][] } {
  const [doc] = yamlDocuments(COMPOSE);
  const services = doc.services as Record<string, any>;
  const baskets = Object.entries(services).filter(([, s]) => s.build !== undefined);
  return { services, baskets };
}

/** haproxy.cfg as sections: "backend basket_any" -> its keyword lines, comments dropped. */
function haproxySections(): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of readFileSync(HAPROXY, 'utf8').split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) sections.set(line, (current = []));
    else current?.push(line.trim());
  }
  return sections;
}

test('every YAML file under deploy/ parses', () => {
  const files = filesUnder(DEPLOY, ['.yaml', '.yml']);
  assert.ok(files.includes(COMPOSE));
  assert.ok(files.filter((f) => f.startsWith(K8S)).length >= 8, `kubernetes manifests: ${files.join(', ')}`);
  for (const file of files) assert.ok(yamlDocuments(file).length > 0, `${file} has no document`);
});

test('compose: Kafka in KRaft mode, Basket replicas on the kafka engine built from the Dockerfile', () => {
  const { services, baskets } = compose();
  const docker = dockerfileFacts();
  const paths = openapiPaths();

  const kafka = services.kafka;
  assert.match(kafka.image, /^apache\/kafka:/);
  const kenv = envOf(kafka);
  assert.deepEqual(kenv.KAFKA_PROCESS_ROLES!.split(',').sort(), ['broker', 'controller']);
  const controllerPort = /CONTROLLER:\/\/[^:]*:(\d+)/.exec(kenv.KAFKA_LISTENERS!)?.[1];
  assert.equal(kenv.KAFKA_CONTROLLER_QUORUM_VOTERS, `${kenv.KAFKA_NODE_ID}@${kafka.hostname}:${controllerPort}`);
  assert.ok(kafka.healthcheck?.test, 'the replicas wait on the broker being healthy');

  assert.ok(baskets.length >= 2, 'several replicas');
  for (const [name, basket] of baskets) {
    assert.ok(existsSync(join(resolve(DEPLOY, basket.build.context), basket.build.dockerfile)), `${name} builds the repository's Dockerfile`);
    assert.equal(resolve(DEPLOY, basket.build.context), resolve(ROOT));
    const env = envOf(basket);
    for (const key of Object.keys(env)) assert.ok(SETTING_ENVS.has(key), `${name}: ${key} is not a Basket setting`);
    assert.equal(env.BASKET_ENGINE, 'kafka');
    const advertised = kenv.KAFKA_ADVERTISED_LISTENERS!.split(',').map((l) => l.replace(/^[A-Z_]+:\/\//, ''));
    for (const broker of env.BASKET_KAFKA_BROKERS!.split(',')) assert.ok(advertised.includes(broker), `${broker} is an advertised listener`);
    assert.equal(Number(env.PORT ?? settingDefault('PORT')), docker.exposedPort);

    const check = JSON.stringify(basket.healthcheck.test);
    const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[a-z/]+)/.exec(check);
    assert.ok(url, `${name}'s health check requests a URL: ${check}`);
    assert.equal(url[2], READINESS);
    assert.ok(paths.has(url[2]!));
    assert.equal(Number(url[1]), docker.exposedPort);
    assert.equal(basket.depends_on.kafka.condition, 'service_healthy');
    const grace = Number(env.BASKET_SHUTDOWN_GRACE_MS ?? settingDefault('BASKET_SHUTDOWN_GRACE_MS'));
    assert.ok(composeDurationMs(basket.stop_grace_period) > grace, `${name}: stop_grace_period leaves time after the request grace`);
  }

  const [, lb] = Object.entries(services).find(([, s]) => String(s.image).startsWith('haproxy:'))!;
  for (const [name] of baskets) assert.equal(lb.depends_on[name]?.condition, 'service_healthy', `the balancer waits for ${name}`);
  const mount = (lb.volumes as string[]).find((v) => v.includes('haproxy.cfg'))!;
  assert.equal(resolve(DEPLOY, mount.split(':')[0]!), HAPROXY);
});

test('haproxy.cfg: the compose replicas on their port, readiness checks, pinned requests hashed, timeouts above long polls', () => {
  const { services, baskets } = compose();
  const sections = haproxySections();
  const port = dockerfileFacts().exposedPort;
  const backends = [...sections.keys()].filter((k) => k.startsWith('backend '));
  assert.ok(backends.length >= 2);
  for (const backend of backends) {
    const servers = sections.get(backend)!.filter((l) => l.startsWith('server ')).map((l) => l.split(/\s+/)[2]);
    assert.deepEqual(servers.sort(), baskets.map(([name]) => `${name}:${port}`).sort(), `${backend} lists every replica`);
  }
  const defaults = sections.get('defaults')!;
  const checkUri = defaults.find((l) => l.startsWith('http-check send'))?.match(/uri (\S+)/)?.[1];
  assert.equal(checkUri, READINESS);
  assert.ok(openapiPaths().has(checkUri!));
  assert.ok(defaults.some((l) => /^default-server .*\bcheck\b/.test(l)), 'every server is health-checked');

  const frontend = [...sections.entries()].find(([k]) => k.startsWith('frontend '))![1];
  const bind = Number(frontend.find((l) => l.startsWith('bind '))!.match(/:(\d+)$/)![1]);
  const lb = Object.values(services).find((s: any) => String(s.image).startsWith('haproxy:'));
  assert.ok((lb.ports as string[]).some((p) => p.endsWith(`:${bind}`)), 'compose publishes the port haproxy binds');
  assert.ok(frontend.some((l) => l.includes('path,field(3,/)')), 'the group is the path segment after /consumers/');
  const pinned = sections.get('backend basket_pinned')!;
  assert.ok(pinned.includes('balance hash var(txn.affinity)') && pinned.includes('hash-type consistent'));

  const seconds = (name: string) => Number(defaults.find((l) => l.startsWith(`timeout ${name} `))!.match(/(\d+)s$/)![1]) * 1000;
  const env = envOf(baskets[0]![1]);
  const setting = (key: string) => Number(env[key] ?? settingDefault(key));
  for (const side of ['client', 'server']) {
    assert.ok(seconds(side) > setting('BASKET_MAX_POLL_TIMEOUT_MS'), `timeout ${side} outlasts the longest long-poll`);
    assert.ok(seconds(side) > setting('BASKET_SSE_HEARTBEAT_INTERVAL_MS'), `timeout ${side} outlasts an idle stream's heartbeat interval`);
  }
});

interface Workload {
  file: string;
  doc: any;
  dir: string;
}

function k8sObjects(): { file: string; doc: any }[] {
  return filesUnder(K8S, ['.yaml']).flatMap((file) => yamlDocuments(file).map((doc) => ({ file, doc })));
}

function workloads(): Workload[] {
  return k8sObjects()
    .filter(({ doc }) => doc.kind === 'Deployment' || doc.kind === 'StatefulSet')
    .map(({ file, doc }) => ({ file, doc, dir: dirname(file) }));
}

/** The environment a workload's container gets: its ConfigMaps, then Secrets, then env entries. */
function containerEnv(w: Workload, container: any): Record<string, string> {
  const objects = k8sObjects().filter(({ file }) => dirname(file) === w.dir).map(({ doc }) => doc);
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
    const source = objects.find((o) => o.kind === kind && o.metadata.name === ref.name);
    assert.ok(source || ref.optional === true, `${w.file}: ${kind} ${ref.name} is in ${w.dir}`);
    if (kind === 'ConfigMap') Object.assign(env, source.data);
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

test('kubernetes: probes on the actuator paths, ports as the Dockerfile, non-root, grace covering BASKET_SHUTDOWN_GRACE_MS', () => {
  const paths = openapiPaths();
  const docker = dockerfileFacts();
  assert.notEqual(docker.user, 'root');
  assert.equal(workloads().length, 2);
  for (const w of workloads()) {
    const pod = w.doc.spec.template.spec;
    const labels = w.doc.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(w.doc.spec.selector.matchLabels)) assert.equal(labels[k], v, `${w.file}: selector matches the pod`);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    const [container] = pod.containers;
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);

    const env = containerEnv(w, container);
    const port = Number(env.PORT ?? settingDefault('PORT'));
    assert.equal(port, docker.exposedPort);
    const http = container.ports.find((p: any) => p.name === 'http');
    assert.equal(http.containerPort, port);
    const probe = (name: string) => container[name].httpGet;
    for (const [name, path] of [['startupProbe', LIVENESS], ['livenessProbe', LIVENESS], ['readinessProbe', READINESS]] as const) {
      assert.equal(probe(name).path, path, `${w.file}: ${name}`);
      assert.ok(paths.has(probe(name).path), `${probe(name).path} is served`);
      assert.ok(probe(name).port === 'http' || probe(name).port === port);
    }

    const preStop = container.lifecycle?.preStop?.exec?.command as string[] | undefined;
    const preStopMs = preStop?.[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
    const graceMs = Number(env.BASKET_SHUTDOWN_GRACE_MS ?? settingDefault('BASKET_SHUTDOWN_GRACE_MS'));
    assert.ok(pod.terminationGracePeriodSeconds * 1000 >= preStopMs + graceMs + 5000, `${w.file}: terminationGracePeriodSeconds leaves 5 s to close after the grace`);

    for (const svc of k8sObjects().filter(({ file, doc }) => dirname(file) === w.dir && doc.kind === 'Service')) {
      for (const [k, v] of Object.entries(svc.doc.spec.selector)) assert.equal(labels[k], v, `${svc.file}: selector matches the pod`);
      for (const p of svc.doc.spec.ports) assert.ok(p.targetPort === 'http' || p.targetPort === port);
    }
  }
});

test('kubernetes: every ConfigMap and Secret key is a Basket setting, ConfigMap values are strings', () => {
  const sources = k8sObjects().filter(({ doc }) => doc.kind === 'ConfigMap' || doc.kind === 'Secret');
  assert.ok(sources.some(({ doc }) => doc.kind === 'Secret' && 'BASKET_KAFKA_SASL_PASSWORD' in doc.stringData), 'a SASL Secret example');
  for (const { file, doc } of sources) {
    const data = { ...doc.data, ...doc.stringData };
    for (const [key, value] of Object.entries(data)) {
      assert.ok(SETTING_ENVS.has(key), `${file}: ${key} is not a Basket setting`);
      assert.equal(typeof value, 'string', `${file}: ${key} must be quoted`);
    }
  }
});

test('kubernetes: kafka variant is a replicated Deployment, embedded variant a one-replica StatefulSet owning BASKET_DATA_DIR', () => {
  const byKind = new Map(workloads().map((w) => [w.doc.kind, w]));
  const deployment = byKind.get('Deployment')!;
  assert.equal(containerEnv(deployment, deployment.doc.spec.template.spec.containers[0]).BASKET_ENGINE, 'kafka');
  assert.ok(deployment.doc.spec.replicas > 1);

  const sts = byKind.get('StatefulSet')!;
  const container = sts.doc.spec.template.spec.containers[0];
  const env = containerEnv(sts, container);
  assert.equal(env.BASKET_ENGINE, 'embedded');
  assert.equal(sts.doc.spec.replicas, 1, 'a single-node store');
  const [claim] = sts.doc.spec.volumeClaimTemplates;
  const mount = container.volumeMounts.find((m: any) => m.name === claim.metadata.name);
  assert.equal(mount.mountPath, env.BASKET_DATA_DIR);
  assert.equal(mount.mountPath, dockerfileFacts().env.get('BASKET_DATA_DIR'), "the Dockerfile's data volume");
  const governing = k8sObjects().find(({ doc }) => doc.kind === 'Service' && doc.metadata.name === sts.doc.spec.serviceName);
  assert.equal(governing?.doc.spec.clusterIP, 'None', 'serviceName is a headless Service');
});

test('kubernetes: each kustomization lists every manifest beside it except the examples', () => {
  for (const file of filesUnder(K8S, ['kustomization.yaml'])) {
    const [k] = yamlDocuments(file);
    const listed = [...(k.resources as string[])].sort();
    const present = filesUnder(dirname(file), ['.yaml'])
      .filter((f) => dirname(f) === dirname(file))
      .map((f) => basename(f))
      .filter((f) => f !== 'kustomization.yaml' && !f.endsWith('.example.yaml'))
      .sort();
    assert.deepEqual(listed, present, file);
  }
});
