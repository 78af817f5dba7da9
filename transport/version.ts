// Software version reported in hello, version and status replies.
import { PACKAGE_VERSION } from '../legacy/common/package-info.ts';

export const SOFTWARE_VERSION = `ctdb-bridge ${PACKAGE_VERSION}`;
