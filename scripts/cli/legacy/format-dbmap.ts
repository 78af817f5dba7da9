import { DbFlag } from '../../../legacy/protocol/constants.ts';
import type { DbView } from './views.ts';

/** `ctdb getdbmap`. */
export function formatDbMap(dbs: DbView[]): string {
  let out = `Number of databases:${dbs.length}\n`;
  for (const db of dbs) {
    out += `dbid:0x${(db.dbId >>> 0).toString(16).padStart(8, '0')} name:${db.name} path:${db.path}` +
      (db.flags & DbFlag.PERSISTENT ? ' PERSISTENT' : '') +
      (db.flags & DbFlag.STICKY ? ' STICKY' : '') +
      (db.flags & DbFlag.READONLY ? ' READONLY' : '') +
      (db.flags & DbFlag.REPLICATED ? ' REPLICATED' : '') +
      (db.health ? ' UNHEALTHY' : '') + '\n';
  }
  return out;
}
