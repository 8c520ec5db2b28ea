#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void usage(const fw_cli_spec_t *spec, FILE *out) {
        fprintf(out,
                "usage: %s [-c FILE] [--check-config] [--print-config] [--print-config-reference]\n"
                "%s\n\n"
                "  -c, --config FILE          configuration file (INI); default $FANWATCH_CONFIG\n"
                "      --check-config         load and validate the configuration, then exit\n"
                "      --print-config         print the effective configuration (secrets "
                "redacted)\n"
                "      --print-config-reference  print every key as a Markdown table\n"
                "  -h, --help                 this help\n"
                "  -V, --version              print the version\n\n"
                "Every key can be set in the environment: FANWATCH_ + key upper-cased, '.' -> "
                "'_',\n"
                "'_' -> '__', '-' -> '___' (e.g. FANWATCH_KAFKA_BOOTSTRAP_SERVERS).\n",
                spec->prog, spec->summary);
        for (size_t i = 0; i < spec->nextra; i++)
                fprintf(out, "  --%s %s\t%s\n", spec->extra[i].name, spec->extra[i].arg,
                        spec->extra[i].help);
}

/* librdkafka checks every kafka.<prop> key (names and values) when it is set. */
static int check_kafka(const fw_cli_spec_t *spec, const fw_conf_t *conf, char *err, size_t errlen) {
        if (spec->no_kafka)
                return 0;
        rd_kafka_conf_t *rk = fw_kafka_conf_new(conf, spec->kafka_defaults, err, errlen);
        if (!rk)
                return -1;
        rd_kafka_conf_destroy(rk);
        return 0;
}

static const char *env_lookup(char *const *envp, const char *name) {
        size_t n = strlen(name);
        for (; envp && *envp; envp++)
                if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
                        return *envp + n + 1;
        return NULL;
}

int fw_cli_load(const fw_cli_spec_t *spec, int argc, char **argv, char *const *envp,
                fw_conf_t **conf) {
        enum { OPT_CHECK = 256, OPT_PRINT, OPT_REFERENCE, OPT_EXTRA };
        static const struct option base[] = {
                {"config", required_argument, NULL, 'c'},
                {"check-config", no_argument, NULL, OPT_CHECK},
                {"print-config", no_argument, NULL, OPT_PRINT},
                {"print-config-reference", no_argument, NULL, OPT_REFERENCE},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
        };
        const size_t nbase = sizeof(base) / sizeof(base[0]);
        struct option opts[nbase + 16 + 1];
        if (spec->nextra > 16) {
                fprintf(stderr, "%s: too many options\n", spec->prog);
                return 2;
        }
        memcpy(opts, base, sizeof(base));
        for (size_t i = 0; i < spec->nextra; i++)
                opts[nbase + i] = (struct option){spec->extra[i].name, required_argument, NULL,
                                                  OPT_EXTRA + (int)i};
        memset(&opts[nbase + spec->nextra], 0, sizeof(opts[0]));
        const char *path = NULL;
        int check = 0, print = 0, c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        path = optarg;
                        break;
                case OPT_CHECK:
                        check = 1;
                        break;
                case OPT_PRINT:
                        print = 1;
                        break;
                case OPT_REFERENCE:
                        fw_conf_write_markdown(spec->defs, spec->ndefs, stdout);
                        return 0;
                case 'h':
                        usage(spec, stdout);
                        return 0;
                case 'V':
                        printf("%s %s\n", spec->prog, FW_VERSION);
                        return 0;
                default:
                        if (c >= OPT_EXTRA && c < OPT_EXTRA + (int)spec->nextra) {
                                *spec->extra[c - OPT_EXTRA].value = optarg;
                                break;
                        }
                        usage(spec, stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s'\n", spec->prog, argv[optind]);
                usage(spec, stderr);
                return 2;
        }
        if (!path)
                path = env_lookup(envp, "FANWATCH_CONFIG");

        char err[1024];
        fw_conf_t *cf = fw_conf_new(spec->defs, spec->ndefs);
        if (!cf) {
                fprintf(stderr, "%s: out of memory\n", spec->prog);
                return 1;
        }
        if ((path && path[0] && fw_conf_load_file(cf, path, err, sizeof(err)) != 0) ||
            fw_conf_load_env(cf, envp, err, sizeof(err)) != 0 ||
            fw_conf_validate(cf, err, sizeof(err)) != 0 ||
            check_kafka(spec, cf, err, sizeof(err)) != 0 ||
            (spec->check && spec->check(cf, err, sizeof(err)) != 0)) {
                fprintf(stderr, "%s: configuration error: %s\n", spec->prog, err);
                fw_conf_free(cf);
                return 1;
        }
        if (print)
                fw_conf_dump(cf, stdout);
        if (check || print) {
                if (check)
                        printf("%s: configuration OK (%s)\n", spec->prog,
                               path ? path : "no file, defaults and environment");
                fw_conf_free(cf);
                return 0;
        }
        *conf = cf;
        return -1;
}
