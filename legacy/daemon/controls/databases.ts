import { Control, controlName } from '../../protocol/controls.ts';
import { encodeControlReply } from '../../protocol/control-payloads.ts';
import { BAD_SIZE, fail, ok, sizeIs, type ControlTable } from './types.ts';

/**
 * Database controls. The embedded daemon has no databases yet: GET_DBMAP
 * reports an empty map (so `ctdb getdbmap` works) and every other database
 * control fails with a clear error text instead of hanging.
 */

export const NO_DATABASES = 'the embedded daemon has no databases yet';

const DATABASE_CONTROLS = [
  Control.GETDBPATH, Control.DB_ATTACH, Control.DB_ATTACH_PERSISTENT, Control.DB_ATTACH_REPLICATED,
  Control.GET_DBNAME, Control.ENABLE_SEQNUM, Control.UPDATE_SEQNUM, Control.TRAVERSE_START,
  Control.TRAVERSE_ALL, Control.TRAVERSE_DATA, Control.TRAVERSE_START_EXT, Control.TRAVERSE_ALL_EXT,
  Control.TRAVERSE_KILL, Control.UPDATE_RECORD, Control.WIPE_DATABASE, Control.TRY_DELETE_RECORDS,
  Control.TRANS3_COMMIT, Control.GET_DB_SEQNUM, Control.DB_SET_HEALTHY, Control.DB_GET_HEALTH,
  Control.SCHEDULE_FOR_DELETION, Control.SET_DB_READONLY, Control.GET_DB_STATISTICS, Control.SET_DB_STICKY,
  Control.DB_DETACH, Control.DB_FREEZE, Control.DB_THAW, Control.DB_TRANSACTION_START,
  Control.DB_TRANSACTION_COMMIT, Control.DB_TRANSACTION_CANCEL, Control.DB_PULL, Control.DB_PUSH_START,
  Control.DB_PUSH_CONFIRM, Control.DB_OPEN_FLAGS, Control.VACUUM_FETCH, Control.DB_VACUUM, Control.FREEZE,
];

export function registerDatabaseControls(t: ControlTable): void {
  t.set(Control.GET_DBMAP, (r) => (sizeIs(r, 0) ? ok(encodeControlReply(Control.GET_DBMAP, { dbs: [] })) : BAD_SIZE));
  for (const op of DATABASE_CONTROLS) {
    t.set(op, (r, d) => {
      d.log.debug({ control: controlName(r.opcode) }, NO_DATABASES);
      return fail(`${controlName(op)}: ${NO_DATABASES}`);
    });
  }
}
