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
 * (Wasmtime and Chicory) with krill's WASI, in-process along the path a container's guest takes
 * once its module is loaded: each test's {@code .json} gives argv, environment, the directory
 * preopened as the guest's {@code /} (a fresh copy per test), the expected exit code and, when it
 * names them, stdout and stderr; stdin is a pipe with nothing written, closed at the guest's end,
 * as the suite's own runner gives it.
 *
 * <p>When {@code KRILL_CONFORMANCE_CONTAINERD} names a containerd socket (the script starts one),
 * each test also runs as a container on each engine, {@code ctr run} with krill's runtime ({@link
 * Ctr}); and always on the binding's own WASI (stock Wasmtime 7) for comparison. Every column runs
 * the same parsed spec and is judged by the same {@link #check}. Writes {@code
 * target/wasi-conformance/summary.md} (passed per suite and column, every test's results side by
 * side, each failure with a one-line reason) and fails when a krill column's outcome differs from
 * {@code WASI_EXPECTED_FAILURES} (a file of {@code <engine> <suite>/<test>} lines, engine {@code
 * wasmtime} or {@code chicory} for both ways of running it, {@code ctr-wasmtime} or {@code
 * ctr-chicory} for a failure only as a container, {@code #} comments), when that variable is set.
 * Skipped unless {@code WASI_TESTSUITE} is set: never part of {@code make test}, which cannot fetch
 * the suite.
 */
@EnabledIfEnvironmentVariable(named = "WASI_TESTSUITE", matches = ".+")
class WasiTestsuiteRun {
  /** A test still running after this is reported as hanging and interrupted. */
  private static final long TEST_SECONDS = 60;

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path junitTmp;

  /**
   * Where each test's copies, stdio files and rootfs go: {@code KRILL_CONFORMANCE_WORK} when set
   * (the script's temp dir, which it removes on exit even when the run is interrupted), else a
   * JUnit temp dir.
   */
  private Path tmp;

  /** How one column runs a test: what the guest did, as {@link #check} compares it. */
  @FunctionalInterface
  interface Runner {
    Observed run(Case c, Path work) throws Exception;
  }

  /**
   * One way of running the tests, a column of the summary. {@code engine}: the engine whose lines
   * of the expected-failures file it is held to ({@code wasmtime} or {@code chicory}), null for
   * stock Wasmtime, which is only compared; {@code viaCtr}: a container through {@code ctr}, also
   * held to the {@code ctr-<engine>} lines.
   */
  record Column(String title, String slug, String engine, boolean viaCtr, Runner runner) {
    /** Whether the expected-failures lines list {@code test} ("suite/test") as failing here. */
    boolean expectsFailure(Set<String> expected, String test) {
      return expected.contains(engine + " " + test)
          || (viaCtr && expected.contains("ctr-" + engine + " " + test));
    }
  }

  /** A test's result in each column (same order): null = passed, else why not. */
  record Outcome(String suite, String test, List<String> failures) {
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
    String work = System.getenv("KRILL_CONFORMANCE_WORK");
    tmp = work == null || work.isBlank() ? junitTmp : Files.createDirectories(Path.of(work));
    List<Outcome> outcomes = new ArrayList<>();
    List<Column> columns;
    try (WasmEngine engine = new WasmtimeEngine(java.util.Optional.empty());
        WasmEngine chicory = new ChicoryEngine()) {
      columns = columns(engine, chicory, Ctr.fromEnvironment());
      for (Path suite : suites) {
        String suiteName = suiteName(root, suite);
        List<Path> wasms;
        try (Stream<Path> s = Files.list(suite)) {
          wasms = s.filter(p -> p.toString().endsWith(".wasm")).sorted().toList();
        }
        for (Path wasm : wasms) {
          String test = wasm.getFileName().toString().replaceFirst("\\.wasm$", "");
          Case c;
          String notRun = null;
          try {
            c = parse(suite, wasm, test);
          } catch (UnsupportedSpec e) {
            c = null;
            notRun = "not run: " + e.getMessage();
          }
          List<String> failures = new ArrayList<>();
          StringBuilder line = new StringBuilder(suiteName + "/" + test + ":");
          for (Column column : columns) {
            String failure;
            if (c == null) {
              failure = notRun;
            } else {
              try {
                failure = check(c, column.runner().run(c, work(suite, test, column.slug())));
              } catch (Exception e) {
                failure = "runner error: " + oneLine(String.valueOf(e));
              }
            }
            failures.add(failure);
            line.append(' ').append(column.title()).append(failure == null ? " pass," : " FAIL,");
          }
          outcomes.add(new Outcome(suiteName, test, failures));
          System.out.println(line.substring(0, line.length() - 1));
        }
      }
    }
    String summary = summary(root, columns, outcomes);
    Path out = Path.of("target", "wasi-conformance");
    Files.createDirectories(out);
    Files.writeString(out.resolve("summary.md"), summary);
    System.out.println(summary);
    compareWithExpected(columns, outcomes);
  }

  /**
   * krill in-process on each engine, krill as a container through {@code ctr} on each engine (when
   * {@code ctr} is given), stock Wasmtime 7.
   */
  private static List<Column> columns(WasmEngine wasmtime, WasmEngine chicory, Ctr ctr) {
    List<Column> columns = new ArrayList<>();
    for (WasmEngine e : List.of(wasmtime, chicory)) {
      columns.add(
          new Column(
              "krill/" + title(e.name()) + " in-process",
              "krill-" + e.name(),
              e.name(),
              false,
              (c, work) -> runKrill(e, c, work)));
    }
    if (ctr != null) {
      for (WasmEngine e : List.of(wasmtime, chicory)) {
        columns.add(
            new Column(
                "krill via ctr (" + title(e.name()) + ")",
                "ctr-" + e.name(),
                e.name(),
                true,
                (c, work) -> ctr.run(e.name(), c, work)));
      }
    }
    columns.add(new Column("stock Wasmtime 7", "stock", null, false, WasiTestsuiteRun::runStock));
    return columns;
  }

  private static String title(String engine) {
    return Character.toUpperCase(engine.charAt(0)) + engine.substring(1);
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

  /** A spec this runner does not read; the test is reported as not run in every column. */
  static final class UnsupportedSpec extends Exception {
    UnsupportedSpec(String why) {
      super(why);
    }
  }

  private static Case parse(Path suite, Path wasm, String test)
      throws IOException, UnsupportedSpec {
    Path spec = suite.resolve(test + ".json");
    JsonNode config = Files.exists(spec) ? JSON.readTree(spec.toFile()) : JSON.createObjectNode();
    if (config.has("operations")) {
      throw new UnsupportedSpec("operation-based spec (this runner reads the legacy one)");
    }
    if (config.has("dirs")) {
      throw new UnsupportedSpec(
          "the spec preopens directories by name (dirs), which this runner does not map (it maps"
              + " root, preopened as /)");
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

  private Path work(Path suite, String test, String column) throws IOException {
    return Files.createDirectories(
        tmp.resolve(column + "-" + suite.getParent().getParent().getFileName() + "-" + test));
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

  private static String summary(Path root, List<Column> columns, List<Outcome> outcomes) {
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
        .append(" (wasi-common), which krill's replaces.\n\n");
    StringBuilder head = new StringBuilder("|---|---|");
    b.append("| suite | tests |");
    for (Column c : columns) {
      b.append(' ').append(c.title()).append(" |");
      head.append("---|");
    }
    b.append('\n').append(head).append('\n');
    Set<String> suiteNames = new TreeSet<>();
    outcomes.forEach(o -> suiteNames.add(o.suite()));
    for (String s : suiteNames) {
      row(b, s, columns, outcomes.stream().filter(o -> o.suite().equals(s)).toList());
    }
    row(b, "**all**", columns, outcomes);
    b.append("\nPer test:\n\n| test |");
    for (Column c : columns) {
      b.append(' ').append(c.title()).append(" |");
    }
    b.append('\n').append(head.substring(4)).append('\n');
    for (Outcome o : outcomes) {
      b.append("| `").append(o.key()).append("` |");
      o.failures().forEach(f -> b.append(f == null ? " pass |" : " FAIL |"));
      b.append('\n');
    }
    b.append('\n');
    for (int i = 0; i < columns.size(); i++) {
      int column = i;
      List<Outcome> failed =
          outcomes.stream().filter(o -> o.failures().get(column) != null).toList();
      if (!failed.isEmpty()) {
        b.append("Failures on ").append(columns.get(i).title()).append(":\n\n");
        failed.forEach(
            o ->
                b.append("- `")
                    .append(o.key())
                    .append("`: ")
                    .append(o.failures().get(column))
                    .append('\n'));
        b.append('\n');
      }
    }
    return b.toString();
  }

  private static void row(StringBuilder b, String name, List<Column> columns, List<Outcome> of) {
    b.append("| ").append(name).append(" | ").append(of.size()).append(" |");
    for (int i = 0; i < columns.size(); i++) {
      int column = i;
      b.append(' ').append(of.stream().filter(o -> o.failures().get(column) == null).count());
      b.append(" |");
    }
    b.append('\n');
  }

  private static void compareWithExpected(List<Column> columns, List<Outcome> outcomes)
      throws IOException {
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
      for (int i = 0; i < columns.size(); i++) {
        Column column = columns.get(i);
        if (column.engine() == null) {
          continue;
        }
        String failure = o.failures().get(i);
        boolean listed = column.expectsFailure(expected, o.key());
        if (failure != null && !listed) {
          problems.add(
              column.engine()
                  + " "
                  + o.key()
                  + " fails on "
                  + column.title()
                  + " ("
                  + failure
                  + ")");
        } else if (failure == null && listed) {
          problems.add(
              column.engine()
                  + " "
                  + o.key()
                  + " passes on "
                  + column.title()
                  + ": remove it from "
                  + file);
        }
      }
    }
    for (String e : expected) {
      if (!e.matches("(ctr-)?(wasmtime|chicory) \\S+")) {
        problems.add(
            "'"
                + e
                + "' in "
                + file
                + " names no engine: write '<engine> <suite>/<test>' (engine wasmtime or chicory,"
                + " or ctr-wasmtime or ctr-chicory for a failure only as a container)");
      }
    }
    if (!problems.isEmpty()) {
      fail("wasi-testsuite outcome differs from " + file + ":\n" + String.join("\n", problems));
    }
  }

  /**
   * krill as a container: {@code ctr run --rm --runtime io.containerd.krill.v1} against the
   * containerd {@code scripts/wasi-conformance.sh} started ({@code KRILL_CONFORMANCE_CTR}, {@code
   * KRILL_CONFORMANCE_CONTAINERD}: its socket, {@code KRILL_CONFORMANCE_NAMESPACE}), the engine
   * chosen by the container's annotation {@code krill.io/engine}. The rootfs ({@code ctr run
   * --rootfs}) is a fresh copy of the spec's {@code root} (an empty directory when it names none)
   * with the test module added as {@code /<test>.wasm}: krill preopens a container's rootfs as
   * {@code /}, as the in-process columns preopen the copy, and takes {@code process.args[0]} from
   * it. The spec's args follow the module's path, each variable is an {@code --env}; stdin is
   * ctr's, a pipe with nothing written, closed after the container; stdout and stderr are ctr's
   * (the container's, copied by ctr), the exit code ctr's (the container's).
   */
  record Ctr(String ctr, String address, String namespace) {
    static Ctr fromEnvironment() {
      String address = System.getenv("KRILL_CONFORMANCE_CONTAINERD");
      if (address == null || address.isBlank()) {
        return null;
      }
      String ctr = System.getenv().getOrDefault("KRILL_CONFORMANCE_CTR", "ctr");
      String ns = System.getenv().getOrDefault("KRILL_CONFORMANCE_NAMESPACE", "krill-conformance");
      return new Ctr(ctr, address, ns);
    }

    Observed run(String engine, Case c, Path work) throws Exception {
      Path rootfs = work.resolve("rootfs");
      if (c.root() != null) {
        copyTree(c.root(), rootfs);
      } else {
        Files.createDirectories(rootfs);
      }
      String module = c.wasm().getFileName().toString();
      Files.copy(c.wasm(), rootfs.resolve(module));
      String id = work.getFileName().toString().replaceAll("[^A-Za-z0-9_.-]", "_");
      List<String> cmd =
          new ArrayList<>(
              List.of(
                  ctr,
                  "--address",
                  address,
                  "--namespace",
                  namespace,
                  "run",
                  "--rm",
                  "--runtime",
                  "io.containerd.krill.v1",
                  "--annotation",
                  "krill.io/engine=" + engine));
      for (String e : c.env()) {
        cmd.add("--env");
        cmd.add(e);
      }
      cmd.add("--rootfs");
      cmd.add(rootfs.toString());
      cmd.add(id);
      cmd.add("/" + module);
      cmd.addAll(c.args().subList(1, c.args().size()));
      Path stdout = work.resolve("stdout");
      Path stderr = work.resolve("stderr");
      Process p =
          new ProcessBuilder(cmd)
              .redirectOutput(stdout.toFile())
              .redirectError(stderr.toFile())
              .start();
      // stdin stays a pipe with nothing written until the container is done.
      try {
        if (!p.waitFor(TEST_SECONDS, TimeUnit.SECONDS)) {
          ctr("tasks", "kill", "--signal", "SIGKILL", id);
          if (!p.waitFor(TEST_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
          }
          ctr("containers", "delete", id);
          return new Observed(null, "hangs: still running after " + TEST_SECONDS + " s", "", "");
        }
      } finally {
        p.getOutputStream().close();
      }
      String err = read(stderr);
      // ctr's own failure (the container refused, or not started) ends in a line "ctr: ...".
      String ctrError =
          err.lines().filter(l -> l.startsWith("ctr: ")).reduce((x, y) -> y).orElse(null);
      if (ctrError != null && p.exitValue() != 0) {
        return new Observed(null, "ctr run failed: " + oneLine(ctrError), read(stdout), err);
      }
      return new Observed(p.exitValue(), null, read(stdout), err);
    }

    private void ctr(String... args) throws Exception {
      List<String> cmd =
          new ArrayList<>(List.of(ctr, "--address", address, "--namespace", namespace));
      cmd.addAll(List.of(args));
      new ProcessBuilder(cmd)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start()
          .waitFor(TEST_SECONDS, TimeUnit.SECONDS);
    }
  }
}
