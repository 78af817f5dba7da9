import { Control } from '../../protocol/controls.ts';
import { encodeControlReply } from '../../protocol/control-payloads.ts';
import { getTunableRequestDef, tunableDef } from '../../protocol/types/tunables.ts';
import { BAD_SIZE, ok, sizeIs, statusOnly, type ControlTable } from './types.ts';

/** GET/SET/LIST tunables with ctdbd's size rules and status codes (types.md §5). */
export function registerTunableControls(t: ControlTable): void {
  t.set(Control.GET_TUNABLE, (r, d) => {
    // ctdbd wants at least 8 bytes (u32 length + a 3+ character name + NUL).
    if (r.data.length < 8) return BAD_SIZE;
    let name: string;
    try {
      ({ name } = getTunableRequestDef.decode(r.data));
    } catch {
      return BAD_SIZE;
    }
    const value = d.tunables.lookup(name);
    if (value === undefined) return statusOnly(-22); // -EINVAL, as ctdbd
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    return ok(b);
  });
  t.set(Control.SET_TUNABLE, (r, d) => {
    if (r.data.length < 12) return BAD_SIZE;
    let v: { value: number; name: string };
    try {
      v = tunableDef.decode(r.data);
    } catch {
      return BAD_SIZE;
    }
    const res = d.tunables.set(v.name, v.value);
    if (res === 'unknown') return statusOnly(-1);
    if (res === 'obsolete') return statusOnly(1);
    d.log.info({ name: v.name, value: v.value }, 'tunable set');
    if (v.name.toLowerCase() === 'debuglevel') d.setDebugLevel(v.value);
    return ok();
  });
  t.set(Control.LIST_TUNABLES, (_r, d) => ok(encodeControlReply(Control.LIST_TUNABLES, {
    names: d.tunables.listNames(), leadingColon: true,
  })));
  t.set(Control.GET_ALL_TUNABLES, (r, d) => (sizeIs(r, 0)
    ? ok(encodeControlReply(Control.GET_ALL_TUNABLES, d.tunables.all()))
    : BAD_SIZE));
}
