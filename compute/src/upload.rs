//! Upload checks that need the module's structure rather than a compiled module: the size
//! cap, the number and declared sizes of memories and tables, and no imported memories or
//! tables. Everything here is a pure function of the bytes and the limits.

use wasmtime::wasmparser::{Parser, Payload, TypeRef};

use crate::error::UploadError;
use crate::limits::{Limits, MEMORIES_PER_MODULE_MAX, TABLES_PER_MODULE_MAX};

/// Checks the module's size and declared shape against `limits`, and that it imports only
/// functions of `host_module`. Validation of the code itself is left to the compiler.
pub(crate) fn check_shape(
    wasm: &[u8],
    limits: &Limits,
    host_module: &'static str,
) -> Result<(), UploadError> {
    if wasm.len() > limits.module_size_bytes_max {
        return Err(UploadError::TooLarge {
            size_bytes: wasm.len(),
            size_bytes_max: limits.module_size_bytes_max,
        });
    }
    let mut memories: u32 = 0;
    let mut tables: u32 = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| UploadError::Invalid(e.to_string()))?;
        match payload {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| UploadError::Invalid(e.to_string()))?;
                    let is_host_function =
                        import.module == host_module && matches!(import.ty, TypeRef::Func(_));
                    if !is_host_function {
                        return Err(UploadError::ForbiddenImport {
                            module: import.module.to_owned(),
                            name: import.name.to_owned(),
                            allowed: host_module,
                        });
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(|e| UploadError::Invalid(e.to_string()))?;
                    memories = memories.saturating_add(1);
                    if memory.initial > u64::from(limits.memory_pages_max) {
                        return Err(UploadError::MemoryTooLarge {
                            pages: memory.initial,
                            pages_max: limits.memory_pages_max,
                        });
                    }
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table.map_err(|e| UploadError::Invalid(e.to_string()))?;
                    tables = tables.saturating_add(1);
                    if table.ty.initial > u64::from(limits.table_elements_max) {
                        return Err(UploadError::TableTooLarge {
                            elements: table.ty.initial,
                            elements_max: limits.table_elements_max,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    if memories > MEMORIES_PER_MODULE_MAX {
        return Err(UploadError::TooMany {
            what: "memories",
            count: memories,
            count_max: MEMORIES_PER_MODULE_MAX,
        });
    }
    if tables > TABLES_PER_MODULE_MAX {
        return Err(UploadError::TooMany {
            what: "tables",
            count: tables,
            count_max: TABLES_PER_MODULE_MAX,
        });
    }
    Ok(())
}
