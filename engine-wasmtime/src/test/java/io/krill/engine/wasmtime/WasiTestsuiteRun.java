package io.krill.engine.wasmtime;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.Func;
import io.github.kawamuray.wasmtime.Linker;
import io.github.kawamuray.wasmtime.Module;
import io.github.kawamuray.wasmtime.Store;
import io.github.kawamuray.wasmtime.WasmFunctionError;
import io.github.kawamuray.wasmtime.wasi.WasiCtx;
import io.github.kawamuray.wasmtime.wasi.WasiCtxBuilder;
import io.krill.engine.Guest;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.Preopen;
import io.krill.engine.WasmEngine;
import io.krill.engine.chicory.ChicoryEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the WASI preview1 tests of the public WebAssembly wasi-testsuite (a checkout given by the
 * environment variable {@code WASI_TESTSUITE}; {@code make conformance}) through krill's engines
 * (Wasmtime and Chicory) with krill's WASI, the same path a container's guest takes: each test's
 * {@code .json} gives argv, environment, the directory preopened as the guest's {@code /} (a fresh
 * copy per test), the expected exit code and, when it names them, stdout and stderr; stdin is a
 * pipe with nothing written, closed at the guest's end, as the suite's own runner gives it.
 *
 * <p>Each test also runs on the binding's own WASI (stock Wasmtime 7) for comparison. Writes {@code
 * target/wasi-conformance/summary.md} (per suite: passed on krill/Wasmtime, krill/Chicory and
 * stock, each failure with a one-line reason) and fails when krill's outcome on either engine
 * differs from {@code WASI_EXPECTED_FAILURES} (a file of {@code <engine> <suite>/<test>} lines,
 * engine {@code wasmtime} or {@code chicory}, {@code #} comments), when that variable is set.
 * Skipped unless {@code WASI_TESTSUITE} is set: never part of {@code make test}, which cannot fetch
 * the suite.
 */
@EnabledIfEnvironmentVariable(named = "WASI_TESTSUITE", matches = ".+")
class WasiTestsuiteRun {
  /** A test still running after this is reported as hanging and interrupted. */
  private static final long TEST_SECONDS = 60;

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  /**
   * A test's result on krill's Wasmtime engine, krill's Chicory engine and the binding's stock
   * WASI: null = passed, else why not.
   */
  record Outcome(
      String suite, String test, String failure, String chicoryFailure, String stockFailure) {
    String key() {
      return suite + "/" + test;
    }
  }

  @Test
  void wasiTestsuite() throws Exception {
    Path root = Path.of(System.getenv("WASI_TESTSUITE")).toAbsolutePath();
    List<Path> suites = suites(root);
    assertTrue(
        !suites.isEmpty(),
        "WASI_TESTSUITE="
            + root
            + " holds no wasm32-wasip1 test directory (tests/<lang>/testsuite/wasm32-wasip1 with a"
            + " manifest.json): give a checkout of github.com/WebAssembly/wasi-testsuite's"
            + " prod/testsuite-base branch");
    List<Outcome> outcomes = new ArrayList<>();
    try (WasmEngine engine = new WasmtimeEngine(java.util.Optional.empty());
        WasmEngine chicory = new ChicoryEngine()) {
      for (Path suite : suites) {
        String suiteName = suiteName(root, suite);
        List<Path> wasms;
        try (Stream<Path> s = Files.list(suite)) {
          wasms = s.filter(p -> p.toString().endsWith(".wasm")).sorted().toList();
        }
        for (Path wasm : wasms) {
          String test = wasm.getFileName().toString().replaceFirst("\\.wasm$", "");
          String failure;
          try {
            failure = runOne(engine, suite, wasm, test);
          } catch (Exception e) {
            failure = "runner error: " + oneLine(String.valueOf(e));
          }
          String chicoryFailure;
          try {
            chicoryFailure = runOne(chicory, suite, wasm, test);
          } catch (Exception e) {
            chicoryFailure = "runner error: " + oneLine(String.valueOf(e));
          }
          String stockFailure;
          try {
            stockFailure = runOneStock(suite, wasm, test);
          } catch (Exception e) {
            stockFailure = "runner error: " + oneLine(String.valueOf(e));
          }
          outcomes.add(new Outcome(suiteName, test, failure, chicoryFailure, stockFailure));
          System.out.println(
              suiteName
                  + "/"
                  + test
                  + ": wasmtime "
                  + (failure == null ? "pass" : "FAIL")
                  + ", chicory "
                  + (chicoryFailure == null ? "pass" : "FAIL")
                  + ", stock "
                  + (stockFailure == null ? "pass" : "fail"));
        }
      }
    }
    String summary = summary(root, outcomes);
    Path out = Path.of("target", "wasi-conformance");
    Files.createDirectories(out);
    Files.writeString(out.resolve("summary.md"), summary);
    System.out.println(summary);
    compareWithExpected(outcomes);
  }

  /** Every directory with a manifest.json for wasm32-wasip1 (or no version: the older layout). */
  private static List<Path> suites(Path root) throws IOException {
    List<Path> found = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root, 5)) {
      for (Path m : s.filter(p -> p.getFileName().toString().equals("manifest.json")).toList()) {
        JsonNode manifest = JSON.readTree(m.toFile());
        String version = manifest.path("version").asText("wasm32-wasip1");
        if (version.equals("wasm32-wasip1")) {
          found.add(m.getParent());
        }
      }
    }
    found.sort(Comparator.naturalOrder());
    return found;
  }

  /** e.g. {@code rust}: the language directory under tests/. */
  private static String suiteName(Path root, Path suite) {
    Path rel = root.relativize(suite);
    for (int i = 0; i < rel.getNameCount(); i++) {
      if (rel.getName(i).toString().equals("testsuite") && i > 0) {
        return rel.getName(i - 1).toString();
      }
    }
    return rel.toString();
  }

  /** One test as its spec describes it. */
  record Case(
      String name,
      Path wasm,
      List<String> args,
      List<String> env,
      Path root,
      int exitCode,
      String stdout,
      String stderr) {}

  /** How a run ended: the exit code, or why there is none; and what it wrote. */
  record Observed(Integer exitCode, String problem, String stdout, String stderr) {}

  private static Case parse(Path suite, Path wasm, String test) throws IOException {
    Path spec = suite.resolve(test + ".json");
    JsonNode config = Files.exists(spec) ? JSON.readTree(spec.toFile()) : JSON.createObjectNode();
    if (config.has("operations")) {
      return null;
    }
    List<String> args = new ArrayList<>();
    args.add(wasm.getFileName().toString());
    config.path("args").forEach(a -> args.add(a.asText()));
    List<String> env = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = config.path("env").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      env.add(e.getKey() + "=" + e.getValue().asText());
    }
    return new Case(
        test,
        wasm,
        args,
        env,
        config.hasNonNull("root") ? suite.resolve(config.get("root").asText()) : null,
        config.path("exit_code").asInt(0),
        config.hasNonNull("stdout") ? config.get("stdout").asText() : null,
        config.hasNonNull("stderr") ? config.get("stderr").asText() : null);
  }

  /** Runs one test on krill; null when it passed, else why not in one line. */
  private String runOne(WasmEngine engine, Path suite, Path wasm, String test) throws Exception {
    Case c = parse(suite, wasm, test);
    if (c == null) {
      return "not run: operation-based spec (this runner reads the legacy one)";
    }
    return check(c, runKrill(engine, c, work(suite, test, "krill-" + engine.name())));
  }

  /** Runs one test on the binding's own WASI (stock Wasmtime 7); null when it passed. */
  private String runOneStock(Path suite, Path wasm, String test) throws Exception {
    Case c = parse(suite, wasm, test);
    if (c == null) {
      return "not run: operation-based spec (this runner reads the legacy one)";
    }
    return check(c, runStock(c, work(suite, test, "stock")));
  }

  private Path work(Path suite, String test, String engine) throws IOException {
    return Files.createDirectories(
        tmp.resolve(engine + "-" + suite.getParent().getParent().getFileName() + "-" + test));
  }

  private static Observed runKrill(WasmEngine engine, Case c, Path work) throws Exception {
    List<Preopen> preopens = new ArrayList<>();
    if (c.root() != null) {
      Path copy = work.resolve("root");
      copyTree(c.root(), copy);
      preopens.add(new Preopen(copy, "/", false));
    }
    Path stdin = work.resolve("stdin");
    Path stdout = work.resolve("stdout");
    Path stderr = work.resolve("stderr");
    if (new ProcessBuilder("mkfifo", stdin.toString()).start().waitFor() != 0) {
      throw new IOException("mkfifo " + stdin + " failed");
    }
    GuestSpec guestSpec =
        new GuestSpec(
            "wasi-testsuite-" + c.name(),
            c.wasm().toString(),
            Files.readAllBytes(c.wasm()),
            "_start",
            c.args(),
            c.env(),
            preopens,
            stdin,
            stdout,
            stderr);
    GuestResult result;
    // The suite's runner gives stdin as a pipe whose writer stays open while the test runs.
    try (FileChannel writer =
            FileChannel.open(stdin, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Guest guest = engine.prepare(guestSpec)) {
      CompletableFuture<GuestResult> run = CompletableFuture.supplyAsync(guest::run);
      try {
        result = run.get(TEST_SECONDS, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        guest.interrupt();
        run.get(TEST_SECONDS, TimeUnit.SECONDS);
        return new Observed(null, "hangs: still running after " + TEST_SECONDS + " s", "", "");
      }
    }
    String out = read(stdout);
    String err = read(stderr);
    if (result instanceof GuestResult.Exited x) {
      return new Observed(x.code(), null, out, err);
    }
    if (result instanceof GuestResult.Trapped t) {
      return new Observed(null, "trapped: " + oneLine(t.message()), out, err);
    }
    return new Observed(null, "interrupted", out, err);
  }

  /**
   * The binding's own WASI (Wasmtime 7.0.1's wasi-common, what krill used before its own): stdin is
   * an empty file, as the binding opens a path and its reads cannot be interrupted.
   */
  private static Observed runStock(Case c, Path work) throws Exception {
    Path stdin = Files.createFile(work.resolve("stdin"));
    Path stdout = work.resolve("stdout");
    Path stderr = work.resolve("stderr");
    WasiCtxBuilder b = new WasiCtxBuilder().args(c.args()).stdin(stdin).stdout(stdout);
    b.stderr(stderr);
    for (String e : c.env()) {
      int eq = e.indexOf('=');
      b.env(e.substring(0, eq), e.substring(eq + 1));
    }
    if (c.root() != null) {
      Path copy = work.resolve("root");
      copyTree(c.root(), copy);
      b.preopenedDir(copy, "/");
    }
    Integer code = null;
    String problem = null;
    try (Engine engine = new Engine();
        Module module = new Module(engine, Files.readAllBytes(c.wasm()));
        WasiCtx ctx = b.build();
        Store<Void> store = new Store<>(null, engine, ctx);
        Linker linker = new Linker(engine)) {
      WasiCtx.addToLinker(linker);
      linker.module(store, "", module);
      try (Func start = linker.get(store, "", "_start").orElseThrow().func()) {
        start.call(store);
        code = 0;
      } catch (WasmFunctionError.I32ExitError e) {
        code = e.exitCode();
      } catch (WasmFunctionError.TrapError e) {
        problem = "trapped: wasm trap: " + e.trap().name().toLowerCase().replace('_', ' ');
      } catch (RuntimeException e) {
        problem = "failed: " + oneLine(String.valueOf(e.getMessage()));
      }
    }
    return new Observed(code, problem, read(stdout), read(stderr));
  }

  private static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
  }

  private static String check(Case c, Observed o) {
    if (o.problem() != null) {
      return o.problem() + stderrHint(o.stderr());
    }
    if (o.exitCode() != c.exitCode()) {
      return "exit code " + o.exitCode() + ", expected " + c.exitCode() + stderrHint(o.stderr());
    }
    if (c.stdout() != null && !o.stdout().equals(c.stdout())) {
      return "stdout " + quote(o.stdout()) + ", expected " + quote(c.stdout());
    }
    if (c.stderr() != null && !o.stderr().equals(c.stderr())) {
      return "stderr " + quote(o.stderr()) + ", expected " + quote(c.stderr());
    }
    return null;
  }

  private static String stderrHint(String err) {
    return err.isBlank() ? "" : "; stderr: " + oneLine(err.strip());
  }

  private static String quote(String s) {
    return JSON.valueToTree(s).toString();
  }

  private static String oneLine(String s) {
    String t = s.replace('\n', ' ').replace('\r', ' ');
    return t.length() > 300 ? t.substring(0, 300) + "..." : t;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      s.forEach(
          p -> {
            Path target = to.resolve(from.relativize(p).toString());
            try {
              if (Files.isSymbolicLink(p)) {
                Files.createSymbolicLink(target, Files.readSymbolicLink(p));
              } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(target);
              } else {
                Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
              }
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          });
    }
  }

  private static String summary(Path root, List<Outcome> outcomes) {
    StringBuilder b = new StringBuilder();
    b.append("# wasi-testsuite (wasm32-wasip1) on krill's WASI, Wasmtime and Chicory engines\n\n");
    String commit = System.getenv("WASI_TESTSUITE_COMMIT");
    b.append("Suite: ")
        .append(root)
        .append(commit == null || commit.isBlank() ? "" : " (commit " + commit + ")")
        .append("  \nRun: ")
        .append(Instant.now())
        .append(
            "\n\nPassed, of the tests; stock = the same Wasmtime 7.0.1 with the binding's own WASI")
        .append(" (wasi-common), which krill's replaces.\n\n")
        .append("| suite | tests | krill/Wasmtime | krill/Chicory | stock Wasmtime 7 |\n")
        .append("|---|---|---|---|---|\n");
    Set<String> suiteNames = new TreeSet<>();
    outcomes.forEach(o -> suiteNames.add(o.suite()));
    for (String s : suiteNames) {
      row(b, s, outcomes.stream().filter(o -> o.suite().equals(s)).toList());
    }
    row(b, "**all**", outcomes);
    b.append('\n');
    b.append("Per test:\n\n| test | krill/Wasmtime | krill/Chicory | stock Wasmtime 7 |\n")
        .append("|---|---|---|---|\n");
    for (Outcome o : outcomes) {
      b.append("| `")
          .append(o.key())
          .append("` | ")
          .append(o.failure() == null ? "pass" : "FAIL")
          .append(" | ")
          .append(o.chicoryFailure() == null ? "pass" : "FAIL")
          .append(" | ")
          .append(o.stockFailure() == null ? "pass" : "FAIL")
          .append(" |\n");
    }
    b.append('\n');
    failures(b, "Failures on krill/Wasmtime", outcomes, Outcome::failure);
    failures(b, "Failures on krill/Chicory", outcomes, Outcome::chicoryFailure);
    failures(b, "Failures on stock Wasmtime 7", outcomes, Outcome::stockFailure);
    return b.toString();
  }

  private static void row(StringBuilder b, String name, List<Outcome> of) {
    long krill = of.stream().filter(o -> o.failure() == null).count();
    long chicory = of.stream().filter(o -> o.chicoryFailure() == null).count();
    long stock = of.stream().filter(o -> o.stockFailure() == null).count();
    b.append("| ")
        .append(name)
        .append(" | ")
        .append(of.size())
        .append(" | ")
        .append(krill)
        .append(" | ")
        .append(chicory)
        .append(" | ")
        .append(stock)
        .append(" |\n");
  }

  private static void failures(
      StringBuilder b,
      String title,
      List<Outcome> outcomes,
      java.util.function.Function<Outcome, String> failure) {
    List<Outcome> failed = outcomes.stream().filter(o -> failure.apply(o) != null).toList();
    if (!failed.isEmpty()) {
      b.append(title).append(":\n\n");
      failed.forEach(
          o -> b.append("- `").append(o.key()).append("`: ").append(failure.apply(o)).append('\n'));
      b.append('\n');
    }
  }

  private static void compareWithExpected(List<Outcome> outcomes) throws IOException {
    String file = System.getenv("WASI_EXPECTED_FAILURES");
    if (file == null || file.isBlank()) {
      return;
    }
    if (!Files.isRegularFile(Path.of(file))) {
      fail(
          "WASI_EXPECTED_FAILURES="
              + file
              + " is not a file: give the list of tests expected to fail"
              + " (scripts/wasi-conformance/expected-failures.txt) or leave it unset");
    }
    Set<String> expected = new HashSet<>();
    for (String line : Files.readAllLines(Path.of(file))) {
      String l = line.replaceFirst("#.*", "").strip();
      if (!l.isEmpty()) {
        expected.add(l);
      }
    }
    List<String> problems = new ArrayList<>();
    for (Outcome o : outcomes) {
      compare(expected, "wasmtime " + o.key(), o.failure(), file, problems);
      compare(expected, "chicory " + o.key(), o.chicoryFailure(), file, problems);
    }
    for (String e : expected) {
      if (!e.startsWith("wasmtime ") && !e.startsWith("chicory ")) {
        problems.add(
            "'"
                + e
                + "' in "
                + file
                + " names no engine: write 'wasmtime <suite>/<test>' or"
                + " 'chicory <suite>/<test>'");
      }
    }
    if (!problems.isEmpty()) {
      fail("wasi-testsuite outcome differs from " + file + ":\n" + String.join("\n", problems));
    }
  }

  /** Adds a problem when the run of {@code key} ("engine suite/test") differs from the list. */
  private static void compare(
      Set<String> expected, String key, String failure, String file, List<String> problems) {
    if (failure != null && !expected.contains(key)) {
      problems.add(key + " fails (" + failure + ")");
    } else if (failure == null && expected.contains(key)) {
      problems.add(key + " passes: remove it from " + file);
    }
  }
}
