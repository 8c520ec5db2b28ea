/* fuzz_config: the INI configuration loader (common/config.h) with the detector's key table,
 * the detection settings built from it (fw_detect_cfg_from_conf) and the expression rules file
 * loader (fw_detect_rules_load), on arbitrary bytes.
 *
 * The input is split at its first form feed byte (0x0c): the part before is the configuration
 * file, the part after (empty without one) the rules file. Both loaders take a path, so each
 * part is written to a memfd opened as /proc/self/fd/N. When the configuration loads and names
 * a rules file (detect.rules), that key is pointed at the rules memfd, so the fuzzer never makes
 * the loader open another file. Invariants: a failed load leaves a message; after a failed
 * fw_detect_cfg_from_conf the cfg owns nothing; loaded rules have ids and expressions. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "detect_conf.h"
#include "engine.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fuzz_memfile_t conf_file, rules_file;
static FILE *devnull;
static int ready;

static void check_cfg(const fw_detect_cfg_t *cfg) {
        FUZZ_CHECK(cfg->nrules == 0 || cfg->rules != NULL);
        for (size_t i = 0; i < cfg->nrules; i++) {
                FUZZ_CHECK(cfg->rules[i].threshold >= 1);
                FUZZ_CHECK(cfg->rules[i].name != NULL && cfg->rules[i].name[0] != '\0');
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[1024];
        if (!ready) {
                fuzz_memfile_open(&conf_file, "fuzz-config");
                fuzz_memfile_open(&rules_file, "fuzz-rules");
                devnull = fopen("/dev/null", "w");
                FUZZ_CHECK(devnull != NULL);
                ready = 1;
        }
        const uint8_t *ff = memchr(data, '\f', size);
        size_t conf_len = ff ? (size_t)(ff - data) : size;
        fuzz_memfile_set(&conf_file, data, conf_len);
        if (ff)
                fuzz_memfile_set(&rules_file, ff + 1, size - conf_len - 1);
        else
                fuzz_memfile_set(&rules_file, "", 0);

        /* The configuration file, then the detection settings it describes. */
        fw_conf_t *conf = fw_conf_new(fw_detector_conf_defs, fw_detector_conf_ndefs);
        FUZZ_CHECK(conf != NULL);
        err[0] = '\0';
        if (fw_conf_load_file(conf, conf_file.path, err, sizeof(err)) < 0) {
                FUZZ_CHECK(err[0] != '\0');
        } else {
                (void)fw_conf_validate(conf, err, sizeof(err));
                const char *rules = fw_conf_str(conf, "detect.rules");
                if (rules && *rules)
                        FUZZ_CHECK(fw_conf_set(conf, "detect.rules", rules_file.path, "fuzz", err,
                                               sizeof(err)) == 0);
                fw_conf_dump(conf, devnull);
                fw_detect_cfg_t cfg;
                fw_detect_cfg_defaults(&cfg);
                err[0] = '\0';
                if (fw_detect_cfg_from_conf(conf, &cfg, err, sizeof(err)) < 0) {
                        FUZZ_CHECK(err[0] != '\0');
                        FUZZ_CHECK(cfg.nrules == 0 && cfg.rules == NULL);
                }
                check_cfg(&cfg);
                fw_detect_cfg_release(&cfg);
        }
        fw_conf_free(conf);

        /* The rules file on its own. */
        fw_detect_cfg_t cfg;
        fw_detect_cfg_defaults(&cfg);
        err[0] = '\0';
        if (fw_detect_rules_load(&cfg, rules_file.path, err, sizeof(err)) < 0) {
                FUZZ_CHECK(err[0] != '\0');
                FUZZ_CHECK(cfg.nrules == 0 && cfg.rules == NULL);
        }
        check_cfg(&cfg);
        fw_detect_cfg_release(&cfg);
        return 0;
}
