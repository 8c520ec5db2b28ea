/* detect_conf: the detection settings of the configuration file (keys detect.*, sweep.*,
 * sweep_port.*, port_scan.*, spike.*, spike_total.*, alert.*) and the expression rules file,
 * turned into an engine configuration (fw_detect_cfg_t). Shared by fanwatch-detector and
 * fanwatch-replay. */
#ifndef FW_DETECT_CONF_H
#define FW_DETECT_CONF_H

#include <stddef.h>

#include "config.h"
#include "engine.h"

/* The detector's whole key table (FW_CONF_COMMON_DEFS, topics.alerts, detector.*, detection keys),
 * shared by fanwatch-detector and fanwatch-replay so that both read the same file. */
extern const fw_conf_def_t fw_detector_conf_defs[];
extern const size_t fw_detector_conf_ndefs;

/* Build cfg from conf (after fw_detect_cfg_defaults): numbers, CIDR allowlists and the rules
 * file named by detect.rules (INI, one [section] per rule). 0, or -1 with a message naming the
 * origin: "<file>:<line>: key '<key>': <problem>" (for a bad expression also the column).
 * On error cfg holds nothing to free. */
int fw_detect_cfg_from_conf(const fw_conf_t *conf, fw_detect_cfg_t *cfg, char *err, size_t errlen);

/* --check-config and start-up: fw_detect_cfg_from_conf succeeds (the detection keys and the
 * rules file build an engine configuration; nothing is kept). 0, or -1 with its message. */
int fw_detect_cfg_check(const fw_conf_t *conf, char *err, size_t errlen);

/* Load an expression rules file into cfg->rules (appending). 0 or -1 with "<file>:<line>: ..." */
int fw_detect_rules_load(fw_detect_cfg_t *cfg, const char *path, char *err, size_t errlen);

/* alert.viewer_url, the Arkime viewer base for links in alerts (NULL when unset). */
const char *fw_detect_conf_viewer_url(const fw_conf_t *conf);

#endif
