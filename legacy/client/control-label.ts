import { controlName } from '../protocol/controls.ts';

/** "GET_PNN(35)" for logs and error messages. */
export function controlLabel(opcode: number): string {
  return `${controlName(opcode)}(${opcode})`;
}
