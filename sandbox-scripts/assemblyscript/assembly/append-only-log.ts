// append-only-log in AssemblyScript: keys `<keyspace>/<digits>`, never overwritten or deleted.
// Reason codes: 1 = overwrite, 2 = delete, 3 = key is not `<keyspace>/<digits>`, 4 = other op.
import { OP_DELETE, OP_PUT, existing_len, key_len, key_read, keyspace_len, op } from "./bitverse";

const DIGITS_MAX: i32 = 20;

export function validate(): i32 {
  const operation = op();
  if (operation == OP_DELETE) return 2;
  if (operation != OP_PUT) return 4;
  const prefix = keyspace_len() + 1;
  const len = key_len() - prefix;
  if (len < 1 || len > DIGITS_MAX) return 3;
  const digits = memory.data(DIGITS_MAX);
  key_read(digits, prefix as u32, len as u32);
  for (let i = 0; i < len; i++) {
    const byte = load<u8>(digits + i);
    if (byte < 0x30 || byte > 0x39) return 3;
  }
  return existing_len() >= 0 ? 1 : 0;
}
