#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define HELP_COL 30 /* the column where option help starts */

static void help_line(FILE *out, const char *opt, const char *help) {
        int n = fprintf(out, "  %s", opt);
        if (n >= HELP_COL) {
                fputc('\n', out);
                n = 0;
        }
        fprintf(out, "%*s%s\n", HELP_COL - n, "", help);
}

/* " --name ARG" / " [--name ARG]" / " [--flag]" for the usage line. */
static void usage_opt(FILE *out, const fw_cli_opt_t *o) {
        fprintf(out, " %s--%s%s%s%s", o->required ? "" : "[", o->name, o->arg ? " " : "",
                o->arg ? o->arg : "", o->required ? "" : "]");
}

static void usage(const fw_cli_spec_t *spec, FILE *out) {
        fprintf(out, "Usage: %s [-c FILE]", spec->prog);
        for (size_t i = 0; i < spec->nextra; i++)
                usage_opt(out, &spec->extra[i]);
        fprintf(out,
                "\n"
                "       %s [-c FILE] --check-config | --print-config\n"
                "       %s --print-config-reference | --help | --version\n"
                "%s\n\n"
                "Options:\n",
                spec->prog, spec->prog, spec->summary);
        help_line(out, "-c, --config FILE", "configuration file (INI); default $FANWATCH_CONFIG");
        for (size_t i = 0; i < spec->nextra; i++) {
                const fw_cli_opt_t *o = &spec->extra[i];
                char opt[128];
                snprintf(opt, sizeof(opt), "    --%s%s%s", o->name, o->arg ? " " : "",
                         o->arg ? o->arg : "");
                help_line(out, opt, o->help);
        }
        help_line(out, "    --check-config", "load and validate the configuration, then exit");
        help_line(out, "    --print-config",
                  "print the effective configuration (INI, secrets redacted)");
        help_line(out, "    --print-config-reference", "print every key as a Markdown table");
        help_line(out, "-h, --help", "print this help");
        help_line(out, "-V, --version", "print the version");
        fputs("\nEvery key can be set in the environment: FANWATCH_ + key upper-cased, '.' -> "
              "'_',\n"
              "'_' -> '__', '-' -> '___' (e.g. FANWATCH_KAFKA_BOOTSTRAP_SERVERS).\n"
              "Exit status: 0 success, 1 configuration or run-time error, 2 usage error.\n",
              out);
}

__attribute__((format(printf, 2, 0))) static void vusage_error(const char *prog, const char *fmt,
                                                               va_list ap) {
        char msg[1024];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", prog, msg, prog);
}

int fw_cli_usage_error(const char *prog, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vusage_error(prog, fmt, ap);
        va_end(ap);
        return 2;
}

/* The usage error for what getopt_long refused (opterr = 0, so it printed nothing): c is '?'
 * or ':', the offending word is argv[optind - 1]. The wording is glibc's. */
static int getopt_error(const fw_cli_spec_t *spec, const struct option *opts, int c, int argc,
                        char **argv) {
        const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        if (strncmp(word, "--", 2) != 0) {
                if (c == ':')
                        return fw_cli_usage_error(spec->prog, "option requires an argument -- '%c'",
                                                  optopt);
                return fw_cli_usage_error(spec->prog, "invalid option -- '%c'",
                                          optopt > 0 && optopt < 256 ? optopt : '?');
        }
        size_t len = strcspn(word + 2, "=");
        if (c == ':')
                return fw_cli_usage_error(spec->prog, "option '%.*s' requires an argument",
                                          (int)len + 2, word);
        if (optopt != 0)
                return fw_cli_usage_error(spec->prog, "option '%.*s' doesn't allow an argument",
                                          (int)len + 2, word);
        /* an unknown name, or an ambiguous abbreviation */
        char possible[512] = "";
        size_t n = 0, used = 0;
        for (const struct option *o = opts; o->name; o++) {
                if (strncmp(o->name, word + 2, len) != 0 || len == 0)
                        continue;
                n++;
                if (used < sizeof(possible))
                        used += (size_t)snprintf(possible + used, sizeof(possible) - used,
                                                 " '--%s'", o->name);
        }
        if (n > 1)
                return fw_cli_usage_error(spec->prog,
                                          "option '%.*s' is ambiguous; possibilities:%s",
                                          (int)len + 2, word, possible);
        return fw_cli_usage_error(spec->prog, "unrecognized option '%s'", word);
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
                opts[nbase + i] = (struct option){
                        spec->extra[i].name, spec->extra[i].arg ? required_argument : no_argument,
                        NULL, OPT_EXTRA + (int)i};
        memset(&opts[nbase + spec->nextra], 0, sizeof(opts[0]));
        const char *path = NULL;
        int check = 0, print = 0, c;
        char err[1024];
        optind = 1;
        opterr = 0; /* our own messages, prefixed with spec->prog rather than argv[0] */
        while ((c = getopt_long(argc, argv, ":c:hV", opts, NULL)) != -1) {
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
                                const fw_cli_opt_t *o = &spec->extra[c - OPT_EXTRA];
                                if (o->arg)
                                        *o->value = optarg;
                                else
                                        *o->flag = 1;
                                break;
                        }
                        return getopt_error(spec, opts, c, argc, argv);
                }
        }
        if (optind < argc)
                return fw_cli_usage_error(spec->prog, "unexpected argument '%s'", argv[optind]);
        int run = !check && !print;
        for (size_t i = 0; run && i < spec->nextra; i++)
                if (spec->extra[i].required && spec->extra[i].arg && !*spec->extra[i].value)
                        return fw_cli_usage_error(spec->prog, "option '--%s %s' is required",
                                                  spec->extra[i].name, spec->extra[i].arg);
        if (spec->check_args && spec->check_args(spec->args_ud, run, err, sizeof(err)) != 0)
                return fw_cli_usage_error(spec->prog, "%s", err);
        if (!path)
                path = env_lookup(envp, "FANWATCH_CONFIG");

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

void fw_cli_handle_signals(void (*handler)(int)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = handler;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}
