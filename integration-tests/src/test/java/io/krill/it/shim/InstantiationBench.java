package io.krill.it.shim;

import io.krill.engine.Guest;
import io.krill.engine.GuestIo;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.Preopen;
import io.krill.engine.Program;
import io.krill.engine.WasmEngine;
import io.krill.engine.chicory.ChicoryEngine;
import io.krill.engine.wasmtime.WasmtimeEngine;
import java.io.ByteArrayOutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Not a test (surefire runs only *Test classes): the fresh-instance cost of section k of {@code
 * scripts/bench.sh}, run as {@code -Dtest=InstantiationBench}. What a WAGI container does for each
 * request, on krill's own engines: the module compiled once ({@link WasmEngine#compile}, as {@code
 * RequestRoutes} does), then per request {@link Program#instantiate} with a CGI environment, {@link
 * Guest#run} and {@link Guest#close} on one thread, as a request pool thread of {@code WagiServer}
 * does. Timed: from the call of {@code instantiate} to {@link Guest#readyNanos} (the instance
 * built, its imports bound, about to call {@code _start}), so the guest's own run and the close are
 * not counted. Writes one line per engine and module to {@code krill.bench.instantiate.out}: {@code
 * ENGINE MODULE RUNS MEDIAN_US P99_US MIN_US}.
 */
class InstantiationBench {

  @Test
  void freshInstance() throws Exception {
    List<Path> modules =
        Arrays.stream(System.getProperty("krill.bench.instantiate.modules", "").split(","))
            .filter(s -> !s.isBlank())
            .map(Path::of)
            .toList();
    if (modules.isEmpty()) {
      throw new IllegalArgumentException(
          "name the modules to instantiate: -Dkrill.bench.instantiate.modules=a.wasm,b.wasm");
    }
    int warmup = Integer.getInteger("krill.bench.instantiate.warmup", 2000);
    int runs = Integer.getInteger("krill.bench.instantiate.runs", 10000);
    long memoryLimit = Long.getLong("krill.bench.instantiate.memoryLimit", 32L << 20);
    Path out =
        Path.of(System.getProperty("krill.bench.instantiate.out", "target/bench-instantiate.tsv"));
    Path rootfs = Files.createTempDirectory("krill-instantiate");
    List<String> lines = new ArrayList<>();
    try {
      for (String engineName : List.of("wasmtime", "chicory")) {
        try (WasmEngine engine =
            engineName.equals("wasmtime")
                ? new WasmtimeEngine(Optional.empty())
                : new ChicoryEngine()) {
          for (Path module : modules) {
            String line = measure(engine, engineName, module, rootfs, memoryLimit, warmup, runs);
            System.out.println(line);
            lines.add(line);
          }
        }
      }
    } finally {
      Files.deleteIfExists(rootfs);
    }
    Files.write(
        out,
        lines,
        StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE);
  }

  private static String measure(
      WasmEngine engine,
      String engineName,
      Path module,
      Path rootfs,
      long memoryLimit,
      int warmup,
      int runs) {
    String guestPath = "/" + module.getFileName();
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(module);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot read " + module + ": " + e, e);
    }
    String id = "instantiate-" + engineName;
    GuestSpec spec =
        new GuestSpec(
            id,
            guestPath,
            bytes,
            "_start",
            List.of(guestPath),
            List.of(),
            List.of(new Preopen(rootfs, "/", true)),
            null,
            null,
            null,
            memoryLimit);
    List<String> args = List.of(guestPath);
    List<String> env = cgiEnv();
    long[] micros = new long[runs];
    try (Program program = engine.compile(spec, 30_000)) {
      for (int i = 0; i < warmup + runs; i++) {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        Guest g =
            program.instantiate(
                args,
                env,
                new GuestIo(new byte[0], Channels.newChannel(stdout), Channels.newChannel(stderr)));
        GuestResult r;
        long ready;
        try {
          r = g.run();
          ready = g.readyNanos();
        } finally {
          g.close();
        }
        if (!(r instanceof GuestResult.Exited e && e.code() == 0) || ready == 0) {
          throw new AssertionError(
              engineName
                  + " "
                  + module.getFileName()
                  + ": run "
                  + i
                  + " ended with "
                  + r
                  + ": "
                  + stderr.toString(StandardCharsets.UTF_8));
        }
        if (stdout.size() == 0) {
          throw new AssertionError(
              engineName + " " + module.getFileName() + ": run " + i + " wrote nothing");
        }
        if (i >= warmup) {
          micros[i - warmup] = (ready - t0) / 1000;
        }
      }
    }
    Arrays.sort(micros);
    double median =
        runs % 2 == 1 ? micros[runs / 2] : (micros[runs / 2 - 1] + micros[runs / 2]) / 2.0;
    long p99 = micros[(int) Math.ceil(0.99 * runs) - 1];
    return String.format(
        Locale.ROOT,
        "%s %s %d %.1f %d %d",
        engineName,
        module.getFileName(),
        runs,
        median,
        p99,
        micros[0]);
  }

  /** What WagiServer gives a GET / from wrk: the CGI variables and a Host header. */
  private static List<String> cgiEnv() {
    return List.of(
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HTTP_HOST=127.0.0.1:18083",
        "GATEWAY_INTERFACE=CGI/1.1",
        "SERVER_SOFTWARE=krill",
        "SERVER_PROTOCOL=HTTP/1.1",
        "SERVER_NAME=127.0.0.1",
        "SERVER_PORT=18083",
        "REQUEST_METHOD=GET",
        "SCRIPT_NAME=",
        "PATH_INFO=/",
        "PATH_TRANSLATED=/",
        "X_RAW_PATH_INFO=/",
        "QUERY_STRING=",
        "CONTENT_LENGTH=0",
        "CONTENT_TYPE=",
        "REMOTE_ADDR=127.0.0.1",
        "REMOTE_HOST=127.0.0.1",
        "REMOTE_USER=",
        "AUTH_TYPE=",
        "X_MATCHED_ROUTE=/...",
        "X_FULL_URL=http://127.0.0.1:18083/");
  }
}
