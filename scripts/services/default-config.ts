// The configuration files `service install` writes when they are absent (an
// operator's own file is never replaced): ctdb-bridge.conf beside ctdb.conf,
// read by the components, and the units' environment file.

import { BRIDGE_CONF_NAME } from '../../components/framework/bridge-conf.ts';
import { BRIDGE_SERVICES } from './services.ts';
import { CTDB_BASE_DIR, ENVIRONMENT_FILE, INSTALLED_MARK, optionsVariable, type RenderedFile } from './units.ts';

/** Stage 2 (shadow) for both components; the commented keys show the defaults (bridge-conf.ts). */
export const DEFAULT_BRIDGE_CONF = `${INSTALLED_MARK}; yours to edit (it is never overwritten)
# Same syntax as ctdb.conf; whole-line comments only. Unknown keys are refused.
[components]
	state directory = /var/lib/ctdb-bridge
[clusterd]
	# shadow (observe ctdbd, report differences) or active
	mode = shadow
	# heartbeat interval = 250
	# dead after = 2000
	# lease = 800
	# legacy poll interval = 250
	# cluster lock = /shared/clusterd.lock
[failoverd]
	# shadow (compare with ctdbd's placement) or active (failoverd performs the takeover runs);
	# \`ctdb-bridge failover handover|handback\` switches every node at run time
	mode = shadow
	# check interval = 1000
	# takeover lease = 15000
	# settle time = 3000
`;

export const DEFAULT_ENVIRONMENT_FILE = `${INSTALLED_MARK}; yours to edit (it is never overwritten)
# Environment of the ctdb-bridge units (systemd EnvironmentFile= syntax).
#CTDB_BRIDGE_LOG_LEVEL=info
#CTDB_BRIDGE_TRANSPORT_SOCKET=/run/ctdb-bridge/transportd.sock
# Extra options per daemon, e.g. stage 4 (native): transportd links the nodes directly
#CTDB_BRIDGE_TRANSPORTD_OPTIONS="--uplink ws --secret-file /etc/ctdb/ctdb-bridge.secret"
${BRIDGE_SERVICES.filter((s) => s !== 'transportd').map((s) => `#${optionsVariable(s)}=`).join('\n')}
`;

export function defaultConfigFiles(): RenderedFile[] {
  return [
    { path: `${CTDB_BASE_DIR}/${BRIDGE_CONF_NAME}`, text: DEFAULT_BRIDGE_CONF, mode: 0o644 },
    { path: ENVIRONMENT_FILE, text: DEFAULT_ENVIRONMENT_FILE, mode: 0o644 },
  ];
}
