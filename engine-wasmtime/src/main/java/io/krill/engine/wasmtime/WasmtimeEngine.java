package io.krill.engine.wasmtime;

import io.github.kawamuray.wasmtime.Config;
import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.ImportType;
import io.github.kawamuray.wasmtime.Module;
import io.krill.engine.EngineException;
import io.krill.engine.Guest;
import io.krill.engine.GuestSpec;
import io.krill.engine.WasmEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * Wasmtime (7.0, through the wasmtime-java JNI binding) as krill's engine.
 *
 * <p>Each guest gets its own {@link Engine}: the binding locks a Store for the whole of a call, so
 * the only way to stop one running guest without stopping the others is to bump the epoch of an
 * engine that serves that guest alone. Compiled code is shared through Wasmtime's on-disk cache
 * (keyed by module bytes), which turns every compile after the first into a load.
 */
public final class WasmtimeEngine implements WasmEngine {
  private static final String WASI = "wasi_snapshot_preview1";
  private final Optional<Path> cacheConfig;

  /**
   * @param cacheDir where compiled modules are cached across tasks and restarts; empty = no cache
   */
  public WasmtimeEngine(Optional<Path> cacheDir) {
    this.cacheConfig = cacheDir.map(WasmtimeEngine::writeCacheConfig);
  }

  @Override
  public String name() {
    return "wasmtime";
  }

  private static Path writeCacheConfig(Path dir) {
    try {
      Files.createDirectories(dir);
      Path toml = dir.resolve("wasmtime-cache.toml");
      String text =
          "[cache]\nenabled = true\ndirectory = \""
              + dir.resolve("wasmtime").toString().replace("\\", "\\\\")
              + "\"\n";
      Path tmp = Files.createTempFile(dir, "cache", ".toml");
      Files.writeString(tmp, text);
      Files.move(tmp, toml, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return toml;
    } catch (IOException e) {
      throw new EngineException(
          EngineException.Kind.INTERNAL,
          "cannot prepare the module cache in " + dir + ": " + e.getMessage(),
          e);
    }
  }

  @Override
  public Guest prepare(GuestSpec spec) {
    Engine engine = newEngine();
    Module module = null;
    try {
      module = new Module(engine, spec.module());
      for (ImportType imp : module.imports()) {
        if (!WASI.equals(imp.module())) {
          throw new EngineException(
              EngineException.Kind.INVALID_MODULE,
              "container "
                  + spec.containerId()
                  + ": module "
                  + spec.modulePath()
                  + " imports "
                  + imp.module()
                  + "."
                  + imp.name()
                  + ", which krill does not provide (only WASI preview1, \""
                  + WASI
                  + "\", is available)");
        }
      }
      return new WasmtimeGuest(spec, engine, module);
    } catch (RuntimeException e) {
      if (module != null) {
        module.close();
      }
      engine.close();
      if (e instanceof EngineException k) {
        throw k;
      }
      throw new EngineException(
          EngineException.Kind.INVALID_MODULE,
          "container "
              + spec.containerId()
              + ": module "
              + spec.modulePath()
              + " is not a valid WebAssembly module: "
              + firstLine(e.getMessage())
              + " (rebuild it for wasm32-wasi / wasm32-wasip1)",
          e);
    }
  }

  private Engine newEngine() {
    try (Config config = new Config()) {
      config.epochInterruption(true);
      cacheConfig.ifPresent(config::cacheConfigLoad);
      return new Engine(config);
    }
  }

  static String firstLine(String s) {
    if (s == null) {
      return "unknown error";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
