// owner-only in AssemblyScript: only the keyspace's owner may write.
// Reason codes: 1 = the writer is not the keyspace owner.
import { writer_is_owner } from "./bitverse";

export function validate(): i32 {
  return writer_is_owner() ? 0 : 1;
}
