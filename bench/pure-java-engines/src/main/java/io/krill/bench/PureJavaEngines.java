package io.krill.bench;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wasi.WasiExitException;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import com.dylibso.chicory.wasm.Parser;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;
import org.graalvm.polyglot.io.ByteSequence;

/**
 * One pure-Java wasm engine, on its own WASI, in this JVM: the times bench.sh section j reports.
 *
 * <pre>
 *   java ... io.krill.bench.PureJavaEngines chicory|graalwasm HELLO.wasm CPU.wasm BIG.wasm HELLO_RUNS CPU_RUNS
 * </pre>
 *
 * Prints tab-separated {@code key value} lines (milliseconds): {@code first} (load, compile,
 * instantiate and run hello in a fresh JVM), {@code hello} (median of later instantiations of the
 * compiled hello), {@code cpu} (median after one warm-up run), {@code big} (load and compile the
 * big module, then run it once). Every run's output is checked, so an engine that computes wrongly
 * fails instead of looking fast.
 */
public final class PureJavaEngines {
  private interface Runner {
    /** Loads and compiles the module once. */
    Compiled load(byte[] wasm);
  }

  private interface Compiled {
    /** A fresh instance of the compiled module, run to its end; returns its stdout. */
    String run();
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println(
          "usage: PureJavaEngines chicory|graalwasm HELLO CPU BIG HELLO_RUNS CPU_RUNS");
      System.exit(2);
    }
    Runner runner =
        switch (args[0]) {
          case "chicory" -> Chicory::load;
          case "graalwasm" -> GraalWasm.runner();
          default -> throw new IllegalArgumentException("unknown engine " + args[0]);
        };
    byte[] hello = Files.readAllBytes(Path.of(args[1]));
    byte[] cpu = Files.readAllBytes(Path.of(args[2]));
    byte[] big = Files.readAllBytes(Path.of(args[3]));
    int helloRuns = Integer.parseInt(args[4]);
    int cpuRuns = Integer.parseInt(args[5]);

    long t0 = System.nanoTime();
    Compiled h = runner.load(hello);
    expect("hello", h.run(), "hello from krill");
    print("first", ms(System.nanoTime() - t0));

    List<Double> times = new ArrayList<>();
    for (int i = 0; i < helloRuns; i++) {
      long s = System.nanoTime();
      expect("hello", h.run(), "hello from krill");
      times.add(ms(System.nanoTime() - s));
    }
    print("hello", median(times));

    Compiled c = runner.load(cpu);
    // the warm-up run; the native build prints the same value (bench.sh checks)
    String want = c.run().lines().findFirst().orElse("");
    print("cpu_out", want);
    times.clear();
    for (int i = 0; i < cpuRuns; i++) {
      long s = System.nanoTime();
      expect("cpu", c.run(), want);
      times.add(ms(System.nanoTime() - s));
    }
    print("cpu", median(times));

    long b = System.nanoTime();
    expect("big", runner.load(big).run(), "big module ok");
    print("big", ms(System.nanoTime() - b));
  }

  /** Chicory: parsed once, compiled to JVM bytecode once, a fresh instance per run. */
  private static final class Chicory {
    static Compiled load(byte[] wasm) {
      var module = Parser.parse(wasm);
      var machines = MachineFactoryCompiler.compile(module);
      return () -> {
        var out = new ByteArrayOutputStream();
        try (var wasi =
            WasiPreview1.builder()
                .withOptions(WasiOptions.builder().withStdout(out).build())
                .build()) {
          var instance =
              Instance.builder(module)
                  .withImportValues(
                      ImportValues.builder().addFunction(wasi.toHostFunctions()).build())
                  .withMachineFactory(machines)
                  .build();
          try {
            instance.export("_start").apply();
          } catch (WasiExitException e) {
            if (e.exitCode() != 0) throw new IllegalStateException("exit " + e.exitCode(), e);
          }
        }
        return out.toString().trim();
      };
    }
  }

  /**
   * GraalWasm: one polyglot Engine shares the compiled code between contexts, a fresh context per
   * run.
   */
  private static final class GraalWasm {
    static Runner runner() {
      Engine engine = Engine.newBuilder("wasm").build(); // shares compiled code between contexts
      return wasm -> {
        Source source =
            Source.newBuilder("wasm", ByteSequence.create(wasm), "guest").buildLiteral();
        return () -> {
          var out = new ByteArrayOutputStream();
          try (Context context =
              Context.newBuilder("wasm")
                  .engine(engine)
                  .option("wasm.Builtins", "wasi_snapshot_preview1")
                  .out(out)
                  .build()) {
            Value instance = context.eval(source).newInstance();
            try {
              instance.getMember("exports").getMember("_start").execute();
            } catch (PolyglotException e) {
              if (!e.isExit() || e.getExitStatus() != 0) throw e;
            }
          }
          return out.toString().trim();
        };
      };
    }
  }

  /**
   * Checks a run's stdout: every line must be the expected one. (Chicory's own WASI 1.7.5 writes wasi-libc's
   * stdout line twice here; krill's WASI, which krill runs Chicory with, does not. That is output, not speed.)
   */
  private static void expect(String what, String got, String want) {
    if (got.isEmpty() || got.lines().anyMatch(l -> !l.equals(want))) {
      throw new IllegalStateException(what + " printed '" + got + "', expected '" + want + "'");
    }
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private static double median(List<Double> xs) {
    double[] a = xs.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(a);
    return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  }

  private static void print(String key, Object value) {
    System.out.println(key + "\t" + (value instanceof Double d ? String.format("%.2f", d) : value));
  }

  private PureJavaEngines() {}
}
