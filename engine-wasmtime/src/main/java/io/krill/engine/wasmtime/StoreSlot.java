package io.krill.engine.wasmtime;

import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.Extern;
import io.github.kawamuray.wasmtime.Func;
import io.github.kawamuray.wasmtime.FuncType;
import io.github.kawamuray.wasmtime.ImportType;
import io.github.kawamuray.wasmtime.Module;
import io.github.kawamuray.wasmtime.Store;
import io.github.kawamuray.wasmtime.Val;
import java.util.ArrayList;
import java.util.List;

/**
 * A Store with the module's imports already defined as host functions, for one instance at a time
 * of a {@link WasmtimeEngine#compile program}: wasmtime-java 0.19 makes a host function per store
 * (most of an instance's cost), so a store serves several instances in turn, each new (its own
 * memory, globals and tables; its own WASI through {@link #current}). A store frees its instances
 * only when it is closed, so it is closed after {@link #MAX_INSTANCES} instances, once the memories
 * it keeps reach {@code retainLimit} bytes, and after any instance that did not end normally.
 */
final class StoreSlot implements AutoCloseable {
  static final int MAX_INSTANCES = 64;

  final Store<Void> store;
  final List<Extern> imports = new ArrayList<>();
  private final List<Func> funcs = new ArrayList<>();
  private final long retainLimit;

  /** The guest whose instance runs now; the host functions serve its WASI. */
  volatile WasmtimeGuest current;

  private long retained;
  private int instances;

  StoreSlot(Engine engine, Module module, long retainLimit) {
    this.retainLimit = retainLimit;
    this.store = new Store<>(null, engine);
    try {
      for (ImportType imp : module.imports()) {
        FuncType type = imp.func();
        String key = imp.module() + "." + imp.name();
        Val.Type[] params = type.getParams();
        Func f =
            new Func(
                store,
                type,
                (caller, in, out) -> current.callHost(key, params, store, caller, in, out));
        funcs.add(f);
        imports.add(Extern.fromFunc(f));
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** After an instance that ended normally with {@code memoryBytes}: whether to serve another. */
  boolean reusable(long memoryBytes) {
    current = null;
    retained += memoryBytes;
    instances++;
    return instances < MAX_INSTANCES && retained < retainLimit;
  }

  @Override
  public void close() {
    current = null;
    for (Func f : funcs) {
      try {
        f.close();
      } catch (RuntimeException ignored) {
        // the store below frees it
      }
    }
    store.close();
  }
}
