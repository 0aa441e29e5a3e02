/*
 * A Kafka-protocol test cluster: librdkafka's mock cluster behind a line protocol.
 *
 * Usage: mock-cluster [BROKERS]   (default 1 broker; broker ids are 1..BROKERS)
 *
 * On start it prints one line, the bootstrap list ("127.0.0.1:PORT,..."), and flushes. Every
 * listener is on the loopback interface. It then reads commands from stdin, one per line, and
 * answers each with exactly one line: "ok" or "error <reason>", in order, so a driver can pair
 * answers with commands. It stops when stdin closes or on SIGTERM/SIGINT, destroying the cluster.
 *
 * Commands (ids are broker ids; -1 means every broker):
 *   ping
 *   topic NAME PARTITIONS REPLICATION_FACTOR      create a topic
 *   broker-down ID | broker-up ID                 drop/refuse connections, or accept them again
 *   rtt ID MS                                     delay every response of a broker
 *   leader TOPIC PARTITION ID                     move a partition's leadership (-1: leaderless)
 *   request-errors APIKEY ERRNAME_OR_CODE [COUNT] the next COUNT requests of APIKEY fail
 *   broker-error ID APIKEY ERRNAME_OR_CODE RTT_MS the next APIKEY request to broker ID fails
 *   topic-error TOPIC ERRNAME_OR_CODE             metadata reports this error for the topic
 *   clear-errors APIKEY
 * Error names are librdkafka's without the prefix, e.g. NOT_LEADER_FOR_PARTITION, _TRANSPORT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_LINE 4096
#define MAX_ARGS 8

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
        (void)sig;
        stopping = 1;
}

static int parse_int(const char *s, long *out) {
        char *end;
        errno = 0;
        *out  = strtol(s, &end, 10);
        return errno == 0 && end != s && *end == '\0';
}

/* Accepts a numeric Kafka error code or a librdkafka error name without its prefix. */
static int parse_error(const char *s, rd_kafka_resp_err_t *out) {
        long code;
        const struct rd_kafka_err_desc *descs;
        size_t cnt, i;

        if (parse_int(s, &code)) {
                *out = (rd_kafka_resp_err_t)code;
                return 1;
        }
        rd_kafka_get_err_descs(&descs, &cnt);
        for (i = 0; i < cnt; i++) {
                if (descs[i].name && strcmp(descs[i].name, s) == 0) {
                        *out = descs[i].code;
                        return 1;
                }
        }
        return 0;
}

static void reply(rd_kafka_resp_err_t err) {
        if (err)
                printf("error %s\n", rd_kafka_err2name(err));
        else
                printf("ok\n");
        fflush(stdout);
}

static void reply_usage(const char *usage) {
        printf("error usage: %s\n", usage);
        fflush(stdout);
}

static void run_command(rd_kafka_mock_cluster_t *mcluster, int argc, char **argv) {
        long a, b, c;
        rd_kafka_resp_err_t err;
        const char *cmd = argv[0];

        if (strcmp(cmd, "ping") == 0) {
                reply(RD_KAFKA_RESP_ERR_NO_ERROR);
        } else if (strcmp(cmd, "topic") == 0) {
                if (argc != 4 || !parse_int(argv[2], &a) || !parse_int(argv[3], &b))
                        return reply_usage("topic NAME PARTITIONS REPLICATION_FACTOR");
                reply(rd_kafka_mock_topic_create(mcluster, argv[1], (int)a, (int)b));
        } else if (strcmp(cmd, "broker-down") == 0 || strcmp(cmd, "broker-up") == 0) {
                if (argc != 2 || !parse_int(argv[1], &a))
                        return reply_usage("broker-down|broker-up ID");
                reply(strcmp(cmd, "broker-down") == 0 ? rd_kafka_mock_broker_set_down(mcluster, (int32_t)a)
                                                      : rd_kafka_mock_broker_set_up(mcluster, (int32_t)a));
        } else if (strcmp(cmd, "rtt") == 0) {
                if (argc != 3 || !parse_int(argv[1], &a) || !parse_int(argv[2], &b))
                        return reply_usage("rtt ID MS");
                reply(rd_kafka_mock_broker_set_rtt(mcluster, (int32_t)a, (int)b));
        } else if (strcmp(cmd, "leader") == 0) {
                if (argc != 4 || !parse_int(argv[2], &a) || !parse_int(argv[3], &b))
                        return reply_usage("leader TOPIC PARTITION ID");
                reply(rd_kafka_mock_partition_set_leader(mcluster, argv[1], (int32_t)a, (int32_t)b));
        } else if (strcmp(cmd, "request-errors") == 0) {
                rd_kafka_resp_err_t errors[64];
                size_t i;
                c = 1;
                if ((argc != 3 && argc != 4) || !parse_int(argv[1], &a) || !parse_error(argv[2], &err) ||
                    (argc == 4 && !parse_int(argv[3], &c)) || c < 1 || c > 64)
                        return reply_usage("request-errors APIKEY ERROR [COUNT<=64]");
                for (i = 0; i < (size_t)c; i++)
                        errors[i] = err;
                rd_kafka_mock_push_request_errors_array(mcluster, (int16_t)a, (size_t)c, errors);
                reply(RD_KAFKA_RESP_ERR_NO_ERROR);
        } else if (strcmp(cmd, "broker-error") == 0) {
                if (argc != 5 || !parse_int(argv[1], &a) || !parse_int(argv[2], &b) ||
                    !parse_error(argv[3], &err) || !parse_int(argv[4], &c))
                        return reply_usage("broker-error ID APIKEY ERROR RTT_MS");
                reply(rd_kafka_mock_broker_push_request_error_rtts(mcluster, (int32_t)a, (int16_t)b, 1, err,
                                                                    (int)c));
        } else if (strcmp(cmd, "topic-error") == 0) {
                if (argc != 3 || !parse_error(argv[2], &err))
                        return reply_usage("topic-error TOPIC ERROR");
                rd_kafka_mock_topic_set_error(mcluster, argv[1], err);
                reply(RD_KAFKA_RESP_ERR_NO_ERROR);
        } else if (strcmp(cmd, "clear-errors") == 0) {
                if (argc != 2 || !parse_int(argv[1], &a))
                        return reply_usage("clear-errors APIKEY");
                rd_kafka_mock_clear_request_errors(mcluster, (int16_t)a);
                reply(RD_KAFKA_RESP_ERR_NO_ERROR);
        } else {
                printf("error unknown command '%s'\n", cmd);
                fflush(stdout);
        }
}

int main(int argc, char **argv) {
        char errstr[512];
        char line[MAX_LINE];
        long brokers = 1;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mcluster;
        struct sigaction sa;

        if (argc > 2 || (argc == 2 && (!parse_int(argv[1], &brokers) || brokers < 1 || brokers > 16))) {
                fprintf(stderr, "usage: %s [BROKERS 1..16]\n", argv[0]);
                return 2;
        }

        /* No SA_RESTART: a signal must interrupt the blocking read of stdin. */
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* The handle only hosts the mock cluster's thread; it never connects anywhere. */
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "mock-cluster: %s\n", errstr);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-cluster: rd_kafka_new failed: %s\n", errstr);
                return 1;
        }
        mcluster = rd_kafka_mock_cluster_new(rk, (int)brokers);
        if (!mcluster) {
                fprintf(stderr, "mock-cluster: could not create the mock cluster\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        while (!stopping && fgets(line, sizeof(line), stdin) != NULL) {
                char *args[MAX_ARGS];
                int n      = 0;
                char *save = NULL;
                char *tok  = strtok_r(line, " \t\r\n", &save);
                while (tok && n < MAX_ARGS) {
                        args[n++] = tok;
                        tok       = strtok_r(NULL, " \t\r\n", &save);
                }
                if (n > 0)
                        run_command(mcluster, n, args);
        }

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
