import { EngineError } from '../engine-error';
import { toGroupError, isNotCoordinator } from './kafka-group-errors';
import { toEngineError } from './kafka-error-mapping';
import { COORDINATOR_TYPE, type KjsCluster, type KjsTxnBroker } from './kafkajs-internals';

/**
 * A kafkajs Cluster used for group requests, with each group's coordinator cached. A request the
 * coordinator answers with NOT_COORDINATOR (the group moved) or that finds the connection gone is
 * sent once more to a freshly found coordinator; after that the error goes to the caller, mapped
 * (toGroupError), and members retry as Kafka's consumers do.
 *
 * Kafka answers one connection's requests in order, and JoinGroup and SyncGroup wait at the
 * coordinator for the other members. So the coordinator keeps one of these shared by every member
 * for requests answered at once (heartbeats, commits, offset fetches, admin), and each member has
 * its own for its joins and syncs (KafkaGroupMember); otherwise one member's join, waiting for
 * another member's heartbeat to tell it to rejoin, would hold that heartbeat up behind itself.
 */
export class KafkaGroupConnection {
  private readonly coordinators = new Map<string, Promise<KjsTxnBroker>>();
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly cluster: KjsCluster,
    /** Throws while the cluster is known to be unreachable, so calls fail at once rather than retrying. */
    private readonly assertUp: () => void = () => undefined,
    /** Whose coordinator a key names: a group's (Kafka's default) or a transactional id's. */
    private readonly coordinatorType: number = COORDINATOR_TYPE.group,
  ) {}

  /** Runs `send` on the group's coordinator; see the class comment for what is retried. */
  async onCoordinator<T>(groupId: string, context: string, send: (broker: KjsTxnBroker) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const broker = await this.coordinatorFor(groupId, context);
      try {
        return await send(broker);
      } catch (err) {
        const stale = isNotCoordinator(err) || toEngineError(err).code === 'BROKER_NOT_AVAILABLE';
        if (stale) this.coordinators.delete(groupId);
        if (!stale || attempt > 0 || this.closed) throw toGroupError(err, context);
      }
    }
  }

  /** Runs `send` on every broker of the cluster (ListGroups is answered per broker). */
  async onEveryBroker<T>(context: string, send: (broker: KjsTxnBroker) => Promise<T>): Promise<T[]> {
    await this.connect(context);
    try {
      await this.cluster.refreshMetadata();
      const brokers = this.cluster.brokerPool.metadata?.brokers ?? [];
      return await Promise.all(brokers.map(async (b) => send((await this.cluster.findBroker({ nodeId: b.nodeId })) as KjsTxnBroker)));
    } catch (err) {
      throw toGroupError(err, context);
    }
  }

  /** Fails with UNSUPPORTED_VERSION when the cluster does not announce the API (or only below `minVersion`). */
  async requireApi(apiKey: number, apiName: string, minVersion = 0): Promise<void> {
    await this.connect(apiName);
    const version = this.cluster.brokerPool.versions?.[apiKey];
    if (this.cluster.brokerPool.versions !== null && (version === undefined || version.maxVersion < minVersion)) {
      const which = minVersion > 0 ? `${apiName} API v${minVersion} or later` : `${apiName} API`;
      throw new EngineError('UNSUPPORTED_VERSION', `The Kafka cluster does not offer the ${which} (key ${apiKey})`, { retriable: false });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.coordinators.clear();
    await this.cluster.disconnect().catch(() => undefined);
  }

  private coordinatorFor(groupId: string, context: string): Promise<KjsTxnBroker> {
    let found = this.coordinators.get(groupId);
    if (found === undefined) {
      found = (async () => {
        await this.connect(context);
        try {
          return await this.cluster.findGroupCoordinator({ groupId, coordinatorType: this.coordinatorType });
        } catch (err) {
          throw toGroupError(err, `${context}: find the coordinator of group '${groupId}'`);
        }
      })();
      this.coordinators.set(groupId, found);
      found.catch(() => {
        if (this.coordinators.get(groupId) === found) this.coordinators.delete(groupId);
      });
    }
    return found;
  }

  private async connect(context: string): Promise<void> {
    if (this.closed) throw toGroupError(new EngineError('ENGINE_CLOSED', 'The group coordinator is closed'), context);
    try {
      this.assertUp();
    } catch (err) {
      throw toGroupError(err, context);
    }
    if (this.cluster.isConnected()) return;
    this.connecting ??= this.cluster.connect().finally(() => {
      this.connecting = undefined;
    });
    try {
      await this.connecting;
    } catch (err) {
      throw toGroupError(err, context);
    }
  }
}
