package io.krill.engine;

import static io.krill.engine.wasm.WasmBytes.CODE;
import static io.krill.engine.wasm.WasmBytes.EXPORT;
import static io.krill.engine.wasm.WasmBytes.FUNCTION;
import static io.krill.engine.wasm.WasmBytes.IMPORT;
import static io.krill.engine.wasm.WasmBytes.MEMORY;
import static io.krill.engine.wasm.WasmBytes.TYPE;
import static io.krill.engine.wasm.WasmBytes.bytes;
import static io.krill.engine.wasm.WasmBytes.concat;
import static io.krill.engine.wasm.WasmBytes.exportEntry;
import static io.krill.engine.wasm.WasmBytes.leb;
import static io.krill.engine.wasm.WasmBytes.limits;
import static io.krill.engine.wasm.WasmBytes.module;
import static io.krill.engine.wasm.WasmBytes.name;
import static io.krill.engine.wasm.WasmBytes.section;
import static io.krill.engine.wasm.WasmBytes.sleb;
import static io.krill.engine.wasm.WasmBytes.vec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.wasm.WasmBytes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link WasmEngine} must do for the core, proven on WASI commands assembled here byte
 * by byte (no tool, no text format). An engine's module extends this class and says how to build
 * its engine.
 */
public abstract class EngineContractTest {
  /** Only to keep a broken engine from hanging the build; never a performance bound. */
  private static final long PATIENCE_SECONDS = 60;

  private static final int PAGE = 65536;

  @TempDir protected Path tmp;
  private WasmEngine engine;

  /** A fresh engine; closed after each test. */
  protected abstract WasmEngine newEngine();

  @BeforeEach
  void openEngine() {
    engine = newEngine();
  }

  @AfterEach
  void closeEngine() {
    engine.close();
  }

  @Test
  void run_returnFromEntry_exitsZero() {
    assertEquals(new GuestResult.Exited(0), run(spec(Wasi.command(bytes()))));
  }

  @Test
  void run_procExit_exitsWithItsCode() {
    assertEquals(new GuestResult.Exited(3), run(spec(Wasi.command(Wasi.exit(3)))));
  }

  @Test
  void run_procExit_everyStatusUpTo255_exitsWithIt() {
    for (int code : new int[] {125, 126, 127, 200, 255}) {
      assertEquals(new GuestResult.Exited(code), run(spec(Wasi.command(Wasi.exit(code)))));
    }
  }

  @Test
  void run_procExit_above255_exitsOneAsWasmtimesCliDoes() {
    assertEquals(new GuestResult.Exited(1), run(spec(Wasi.command(Wasi.exit(256)))));
  }

  @Test
  void run_procExit_fromAModuleWithoutMemory_exitsWithItsCode() {
    byte[] body = concat(Wasi.i32(2), Wasi.call(0));
    byte[] code = concat(bytes(0x00), body, bytes(0x0b));
    byte[] m =
        WasmBytes.module(
            section(TYPE, vec(bytes(0x60, 0, 0), bytes(0x60, 1, 0x7f, 0))),
            section(
                IMPORT,
                vec(concat(name("wasi_snapshot_preview1"), name("proc_exit"), bytes(0, 1)))),
            section(FUNCTION, vec(bytes(0))),
            section(EXPORT, vec(exportEntry("_start", 0, 1))),
            section(CODE, vec(concat(leb(code.length), code))));
    assertEquals(new GuestResult.Exited(2), run(spec(m)));
  }

  @Test
  void run_wasiUnstableModule_runsAndWrites() throws Exception {
    Path out = Files.createFile(tmp.resolve("stdout"));
    byte[] m =
        Wasi.commandOf(
            "wasi_unstable",
            concat(Wasi.write(1, "snapshot 0\n"), Wasi.exit(7)),
            Wasi.data(Wasi.TEXT, "snapshot 0\n"));
    assertEquals(new GuestResult.Exited(7), run(withStdout(spec(m), out)));
    assertEquals("snapshot 0\n", Files.readString(out));
  }

  @Test
  void run_cpuTimeClocks_answer() {
    for (int clock = 0; clock <= 3; clock++) {
      assertEquals(
          new GuestResult.Exited(0),
          run(spec(Wasi.command(Wasi.clockTime(clock)))),
          "clock_time_get(" + clock + ")");
    }
  }

  /** containerd's stdout FIFO may never get a reader: the guest must neither wait nor hang. */
  @Test
  void stdio_stdoutFifoWithoutReader_guestRunsToItsEnd() throws Exception {
    Path fifo = tmp.resolve("stdout");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    byte[] m =
        Wasi.command(concat(Wasi.write(1, "hi\n"), Wasi.exit(4)), Wasi.data(Wasi.TEXT, "hi\n"));
    Guest g = engine.prepare(withStdout(spec(m), fifo));
    CompletableFuture<GuestResult> result = CompletableFuture.supplyAsync(g::run);
    try {
      assertEquals(new GuestResult.Exited(4), result.get(PATIENCE_SECONDS, TimeUnit.SECONDS));
    } finally {
      if (result.isDone()) {
        g.close();
      }
    }
  }

  /**
   * A guest writing to a FIFO nobody reads fills the pipe and blocks: a kill must still stop it.
   */
  @Test
  void interrupt_guestBlockedWritingAFullStdoutFifo_stopsIt() throws Exception {
    Path fifo = tmp.resolve("stdout");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    byte[] loop =
        concat(bytes(0x03, 0x40), Wasi.write(1, "0123456789abcdef"), bytes(0x0c, 0x00, 0x0b));
    byte[] m = Wasi.command(loop, Wasi.data(Wasi.TEXT, "0123456789abcdef"));
    try (Guest g = engine.prepare(withStdout(spec(m), fifo))) {
      CompletableFuture<GuestResult> result = CompletableFuture.supplyAsync(g::run);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      while (g.linearMemoryBytes() == 0 && System.nanoTime() < until) {
        Thread.sleep(10);
      }
      Thread.sleep(200);
      assertFalse(result.isDone(), "the guest ended on its own");
      g.interrupt();
      assertEquals(new GuestResult.Interrupted(), result.get(PATIENCE_SECONDS, TimeUnit.SECONDS));
    }
  }

  @Test
  void stdio_existingLogFile_isAppendedToNeverTruncated() throws Exception {
    Path out = Files.writeString(tmp.resolve("log"), "before\n");
    byte[] m = Wasi.command(Wasi.write(1, "after\n"), Wasi.data(Wasi.TEXT, "after\n"));
    assertEquals(new GuestResult.Exited(0), run(withStdout(spec(m), out)));
    assertEquals("before\nafter\n", Files.readString(out));
  }

  private static GuestSpec withStdout(GuestSpec s, Path stdout) {
    return new GuestSpec(
        s.containerId(),
        s.modulePath(),
        s.module(),
        s.entry(),
        s.args(),
        s.env(),
        s.preopens(),
        s.stdin(),
        stdout,
        s.stderr(),
        s.memoryLimitBytes());
  }

  @Test
  void run_unreachable_trapped() {
    assertInstanceOf(GuestResult.Trapped.class, run(spec(Wasi.command(bytes(0x00)))));
  }

  @Test
  void run_divideByZero_trapNamesItsCause() {
    // i32.const 1; i32.const 0; i32.div_s; drop
    GuestResult r = run(spec(Wasi.command(bytes(0x41, 1, 0x41, 0, 0x6d, 0x1a))));
    String m = assertInstanceOf(GuestResult.Trapped.class, r).message();
    assertTrue(m.startsWith("wasm trap: integer divide by zero"), m);
  }

  @Test
  void run_unreachable_trapNamesItsCause() {
    String m =
        assertInstanceOf(GuestResult.Trapped.class, run(spec(Wasi.command(bytes(0x00))))).message();
    assertTrue(m.startsWith("wasm trap:"), m);
    assertTrue(m.contains("unreachable"), m);
  }

  @Test
  void run_exportNamedInSpec_isTheEntry() {
    byte[] m = WasmBytes.emptyFunctionModule("healthz");
    GuestSpec s =
        new GuestSpec(
            "c1",
            "/app.wasm",
            m,
            "healthz",
            List.of("/app.wasm"),
            List.of(),
            List.of(),
            null,
            null,
            null);
    assertEquals(new GuestResult.Exited(0), run(s));
  }

  @Test
  void interrupt_beforeRun_runReturnsInterrupted() {
    try (Guest g = engine.prepare(spec(Wasi.command(Wasi.spin())))) {
      g.interrupt();
      assertEquals(new GuestResult.Interrupted(), g.run());
    }
  }

  @Test
  void interrupt_spinningGuest_stopsIt() throws Exception {
    assertInterruptStops(Wasi.command(Wasi.spin()));
  }

  @Test
  void interrupt_sleepingGuest_stopsIt() throws Exception {
    assertInterruptStops(Wasi.command(Wasi.sleepOneHour()));
  }

  @Test
  void stdio_writesGoToTheFilesOfTheSpec() throws Exception {
    Path out = Files.createFile(tmp.resolve("stdout"));
    Path err = Files.createFile(tmp.resolve("stderr"));
    byte[] m =
        Wasi.command(
            concat(Wasi.write(1, "hello\n"), Wasi.write(2, "hello\n")),
            Wasi.data(Wasi.TEXT, "hello\n"));
    GuestSpec s =
        new GuestSpec(
            "c1",
            "/app.wasm",
            m,
            "_start",
            List.of("/app.wasm"),
            List.of(),
            List.of(),
            null,
            out,
            err);
    assertEquals(new GuestResult.Exited(0), run(s));
    assertEquals("hello\n", Files.readString(out));
    assertEquals("hello\n", Files.readString(err));
  }

  @Test
  void preopen_writable_guestCreatesAFile() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("rw"));
    assertEquals(new GuestResult.Exited(0), run(preopenSpec(dir, false)));
    assertTrue(Files.exists(dir.resolve("out.txt")));
  }

  @Test
  void preopen_readOnly_guestCannotCreateAFile() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("ro"));
    GuestResult r = run(preopenSpec(dir, true));
    assertInstanceOf(GuestResult.Exited.class, r);
    assertNotEquals(0, ((GuestResult.Exited) r).code(), "path_open must fail with an errno");
    assertFalse(Files.exists(dir.resolve("out.txt")));
  }

  @Test
  void memoryCap_growBeyondTheModulesMaximum_refusedAndReportedExhausted() {
    // Memory (1 page, max 2): growing by 100 pages must return -1, which the guest turns into exit
    // 0.
    byte[] m =
        Wasi.command(
            2,
            concat(
                bytes(0x41),
                sleb(100),
                bytes(0x40, 0x00, 0x41, 0x7f, 0x47),
                Wasi.call(Wasi.PROC_EXIT)));
    GuestSpec s =
        new GuestSpec(
            "c1",
            "/app.wasm",
            m,
            "_start",
            List.of("/app.wasm"),
            List.of(),
            List.of(),
            null,
            null,
            null,
            2L * PAGE);
    try (Guest g = engine.prepare(s)) {
      assertEquals(new GuestResult.Exited(0), g.run());
      assertTrue(g.memoryExhausted());
    }
  }

  @Test
  void prepare_invalidModule_refusedAsInvalidModule() {
    byte[] broken =
        WasmBytes.module(
            section(TYPE, vec(bytes(0x60, 0, 0))),
            section(FUNCTION, vec(bytes(0))),
            section(EXPORT, vec(exportEntry("_start", 0, 0))),
            section(CODE, vec(bytes(2, 0, 0x01))));
    EngineException e = assertThrows(EngineException.class, () -> engine.prepare(spec(broken)));
    assertEquals(EngineException.Kind.INVALID_MODULE, e.kind());
    assertTrue(e.getMessage().contains("c1"), "names the container: " + e.getMessage());
  }

  @Test
  void prepare_importOutsideWasi_refusedAsInvalidModule() {
    byte[] m =
        WasmBytes.module(
            section(TYPE, vec(bytes(0x60, 0, 0))),
            section(IMPORT, vec(concat(name("env"), name("host_call"), bytes(0, 0)))),
            section(FUNCTION, vec(bytes(0))),
            section(EXPORT, vec(exportEntry("_start", 0, 1))),
            section(CODE, vec(bytes(2, 0, 0x0b))));
    EngineException e = assertThrows(EngineException.class, () -> engine.prepare(spec(m)));
    assertEquals(EngineException.Kind.INVALID_MODULE, e.kind());
    assertTrue(e.getMessage().contains("env.host_call"), e.getMessage());
  }

  @Test
  void close_withoutRun_twice_andInterruptAfterwards_harmless() {
    Guest g = engine.prepare(spec(Wasi.command(Wasi.spin())));
    g.close();
    g.close();
    g.interrupt();
    g.closeStdin();
  }

  @Test
  void close_afterRun_releasesTheGuest_manyTimesOver() {
    for (int i = 0; i < 20; i++) {
      Guest g = engine.prepare(spec(Wasi.command(Wasi.exit(i))));
      assertEquals(new GuestResult.Exited(i), g.run());
      assertEquals(0, g.linearMemoryBytes(), "no memory is reported once the guest has ended");
      g.close();
      g.close();
    }
  }

  /**
   * A guest given a FIFO as stdin that exits without reading it must not leave the writer waiting:
   * containerd opens its end before the exec starts and blocks until a reader exists, then copies
   * the client's input; the guest's exit must end that copy (a broken pipe), as with runc.
   */
  @Test
  void run_stdinFifoNeverRead_writerGetsAReaderAndThenABrokenPipe() throws Exception {
    Path fifo = tmp.resolve("stdin");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    CompletableFuture<FileChannel> writer =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return FileChannel.open(fifo, StandardOpenOption.WRITE);
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            });
    GuestSpec s =
        new GuestSpec(
            "c1",
            "/app.wasm",
            Wasi.command(bytes()),
            "_start",
            List.of("/app.wasm"),
            List.of(),
            List.of(),
            fifo,
            null,
            null);
    try (Guest g = engine.prepare(s)) {
      assertEquals(new GuestResult.Exited(0), g.run());
    }
    try (FileChannel w = writer.get(PATIENCE_SECONDS, TimeUnit.SECONDS)) {
      assertThrows(
          IOException.class,
          () -> w.write(ByteBuffer.wrap("hi\n".getBytes(StandardCharsets.UTF_8))),
          "no reader is left once the guest has exited");
    }
  }

  /**
   * A compiled program's instances are fresh: each writes the data segment's text to its own
   * in-memory stdout and then overwrites it, which the next instance must not see.
   */
  @Test
  void compile_eachInstanceHasFreshMemoryAndItsOwnStdout() throws Exception {
    byte[] m =
        Wasi.command(
            concat(Wasi.write(1, "fresh\n"), Wasi.store32(Wasi.TEXT, 0x58585858L)),
            Wasi.data(Wasi.TEXT, "fresh\n"));
    try (Program p = engine.compile(spec(m), 10_000)) {
      for (int i = 0; i < 3; i++) {
        byte[] out = runInstance(p, List.of("A=" + i));
        assertEquals("fresh\n", new String(out, StandardCharsets.UTF_8), "instance " + i);
      }
    }
  }

  /**
   * A compiled program's instances never see what an earlier one wrote outside its data segments:
   * each grows its memory to 704 KiB, prints four bytes from its first page and four from its last
   * (zero in a fresh memory), then writes "XXXX" to both.
   */
  @Test
  void compile_memoryAnEarlierInstanceWrote_readsZeroInTheNext() throws Exception {
    int low = 2048;
    int high = 11 * 65536 - 8;
    byte[] m =
        Wasi.command(
            concat(
                Wasi.i32(10),
                bytes(0x40, 0x00, 0x1a),
                Wasi.writeAt(1, low, 4),
                Wasi.writeAt(1, high, 4),
                Wasi.store32(low, 0x58585858L),
                Wasi.store32(high, 0x58585858L)));
    try (Program p = engine.compile(spec(m), 10_000)) {
      for (int i = 0; i < 4; i++) {
        assertArrayEquals(new byte[8], runInstance(p, List.of()), "instance " + i);
      }
    }
  }

  /** Runs one instance of the program with this environment; what it wrote to its stdout. */
  private static byte[] runInstance(Program p, List<String> env) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (Guest g =
        p.instantiate(
            List.of("/app.wasm"),
            env,
            new GuestIo(new byte[0], java.nio.channels.Channels.newChannel(out), null))) {
      assertEquals(new GuestResult.Exited(0), g.run());
    }
    return out.toByteArray();
  }

  /**
   * readyNanos marks the instance ready to run its entry: 0 before run, then after instantiate was
   * called and before the guest's own code wrote anything.
   */
  @Test
  void compile_readyNanos_fallsBetweenInstantiateAndTheGuestsFirstWrite() throws Exception {
    byte[] m = Wasi.command(Wasi.write(1, "ready\n"), Wasi.data(Wasi.TEXT, "ready\n"));
    try (Program p = engine.compile(spec(m), 10_000)) {
      long[] firstWrite = new long[1];
      java.nio.channels.WritableByteChannel out =
          new java.nio.channels.WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) {
              if (firstWrite[0] == 0) {
                firstWrite[0] = System.nanoTime();
              }
              int n = src.remaining();
              src.position(src.limit());
              return n;
            }

            @Override
            public boolean isOpen() {
              return true;
            }

            @Override
            public void close() {}
          };
      long before = System.nanoTime();
      try (Guest g =
          p.instantiate(List.of("/app.wasm"), List.of(), new GuestIo(new byte[0], out, null))) {
        assertEquals(0, g.readyNanos(), "ready before run");
        assertEquals(new GuestResult.Exited(0), g.run());
        long ready = g.readyNanos();
        assertTrue(ready - before >= 0, "ready before instantiate was called");
        assertTrue(firstWrite[0] != 0, "the guest wrote nothing");
        assertTrue(firstWrite[0] - ready >= 0, "ready after the guest's first write");
      }
    }
  }

  /** interruptAll stops every instance running now, one spinning in wasm included. */
  @Test
  void compile_interruptAll_stopsASpinningInstance() throws Exception {
    try (Program p = engine.compile(spec(Wasi.command(Wasi.spin())), 600_000);
        Guest g =
            p.instantiate(
                List.of("/app.wasm"),
                List.of(),
                new GuestIo(
                    new byte[0],
                    java.nio.channels.Channels.newChannel(new ByteArrayOutputStream()),
                    null))) {
      CompletableFuture<GuestResult> result = CompletableFuture.supplyAsync(g::run);
      Thread.sleep(200);
      assertFalse(result.isDone(), "the guest ended on its own");
      p.interruptAll();
      GuestResult r = result.get(PATIENCE_SECONDS, TimeUnit.SECONDS);
      assertTrue(
          r instanceof GuestResult.Interrupted || r instanceof GuestResult.Trapped, r.toString());
    }
  }

  private void assertInterruptStops(byte[] module) throws Exception {
    try (Guest g = engine.prepare(spec(module))) {
      CompletableFuture<GuestResult> result = CompletableFuture.supplyAsync(g::run);
      // Give it time to enter the guest; interrupt must work whether or not it has.
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      while (g.linearMemoryBytes() == 0 && System.nanoTime() < until) {
        Thread.sleep(10);
      }
      Thread.sleep(50);
      assertFalse(
          result.isDone(), "the guest ended on its own: " + (result.isDone() ? result.join() : ""));
      g.interrupt();
      assertEquals(new GuestResult.Interrupted(), result.get(PATIENCE_SECONDS, TimeUnit.SECONDS));
    }
  }

  private GuestSpec preopenSpec(Path dir, boolean readOnly) {
    byte[] m = Wasi.command(Wasi.openCreate("out.txt"), Wasi.data(Wasi.TEXT, "out.txt"));
    return new GuestSpec(
        "c1",
        "/app.wasm",
        m,
        "_start",
        List.of("/app.wasm"),
        List.of(),
        List.of(new Preopen(dir, "/", readOnly)),
        null,
        null,
        null);
  }

  private GuestResult run(GuestSpec s) {
    try (Guest g = engine.prepare(s)) {
      return g.run();
    }
  }

  protected static GuestSpec spec(byte[] module) {
    return new GuestSpec(
        "c1",
        "/app.wasm",
        module,
        "_start",
        List.of("/app.wasm"),
        List.of("A=b"),
        List.of(),
        null,
        null,
        null);
  }

  /**
   * WASI commands: imports proc_exit (0), fd_write (1), poll_oneoff (2), path_open (3),
   * clock_time_get (4) of {@code wasi_snapshot_preview1} (or of {@code wasi_unstable}); {@code
   * _start} is function 5; one exported memory; optional data at {@link #TEXT}. Scratch memory
   * below 64 is free.
   */
  static final class Wasi {
    static final int PROC_EXIT = 0;
    static final int FD_WRITE = 1;
    static final int POLL_ONEOFF = 2;
    static final int PATH_OPEN = 3;
    static final int CLOCK_TIME_GET = 4;
    static final int TEXT = 1024;
    private static final int I32 = 0x7f;
    private static final int I64 = 0x7e;

    static byte[] command(byte[] body) {
      return command(-1, body, null);
    }

    static byte[] command(byte[] body, byte[] data) {
      return command(-1, body, data);
    }

    static byte[] command(long maxPages, byte[] body) {
      return command(maxPages, body, null);
    }

    private static byte[] command(long maxPages, byte[] body, byte[] data) {
      return command("wasi_snapshot_preview1", maxPages, body, data);
    }

    /** A command importing its functions from {@code wasiModule}. */
    static byte[] commandOf(String wasiModule, byte[] body, byte[] data) {
      return command(wasiModule, -1, body, data);
    }

    private static byte[] command(String wasiModule, long maxPages, byte[] body, byte[] data) {
      byte[] code = concat(bytes(0x00), body, bytes(0x0b));
      byte[] wasi = name(wasiModule);
      byte[] m =
          module(
              section(
                  TYPE,
                  vec(
                      bytes(0x60, 0, 0),
                      bytes(0x60, 1, I32, 0),
                      bytes(0x60, 4, I32, I32, I32, I32, 1, I32),
                      bytes(0x60, 9, I32, I32, I32, I32, I32, I64, I64, I32, I32, 1, I32),
                      bytes(0x60, 3, I32, I64, I32, 1, I32))),
              section(
                  IMPORT,
                  vec(
                      concat(wasi, name("proc_exit"), bytes(0, 1)),
                      concat(wasi, name("fd_write"), bytes(0, 2)),
                      concat(wasi, name("poll_oneoff"), bytes(0, 2)),
                      concat(wasi, name("path_open"), bytes(0, 3)),
                      concat(wasi, name("clock_time_get"), bytes(0, 4)))),
              section(FUNCTION, vec(bytes(0))),
              section(MEMORY, vec(limits(1, maxPages))),
              section(EXPORT, vec(exportEntry("_start", 0, 5), exportEntry("memory", 2, 0))),
              section(CODE, vec(concat(leb(code.length), code))));
      return data == null ? m : concat(m, data);
    }

    /** A data section with one active segment. */
    static byte[] data(int offset, String text) {
      byte[] b = text.getBytes(StandardCharsets.UTF_8);
      return section(
          11, vec(concat(bytes(0x00, 0x41), sleb(offset), bytes(0x0b), leb(b.length), b)));
    }

    static byte[] i32(long v) {
      return concat(bytes(0x41), sleb(v));
    }

    static byte[] call(int function) {
      return concat(bytes(0x10), leb(function));
    }

    static byte[] store32(int address, long value) {
      return concat(i32(address), i32(value), bytes(0x36, 0x02, 0x00));
    }

    static byte[] exit(int code) {
      return concat(i32(code), call(PROC_EXIT));
    }

    /** Writes the text at {@link #TEXT} (its length given) to {@code fd}. */
    static byte[] write(int fd, String text) {
      return writeAt(fd, TEXT, text.length());
    }

    /** Writes {@code length} bytes of memory from {@code address} to {@code fd}. */
    static byte[] writeAt(int fd, int address, int length) {
      return concat(
          store32(0, address),
          store32(4, length),
          i32(fd),
          i32(0),
          i32(1),
          i32(8),
          call(FD_WRITE),
          bytes(0x1a));
    }

    /** clock_time_get({@code clock}, 0, &scratch); exits with the errno. */
    static byte[] clockTime(int clock) {
      return concat(
          i32(clock), bytes(0x42), sleb(0), i32(32), call(CLOCK_TIME_GET), call(PROC_EXIT));
    }

    /** Touches its memory (so it is resident), then loops forever without calling the host. */
    static byte[] spin() {
      return concat(store32(0, 1), bytes(0x03, 0x40, 0x0c, 0x00, 0x0b));
    }

    /** poll_oneoff on one relative CLOCK_MONOTONIC subscription of an hour. */
    static byte[] sleepOneHour() {
      return concat(
          store32(16, 1),
          i32(24),
          bytes(0x42),
          sleb(3_600_000_000_000L),
          bytes(0x37, 0x03, 0x00),
          i32(0),
          i32(64),
          i32(1),
          i32(128),
          call(POLL_ONEOFF),
          bytes(0x1a));
    }

    /**
     * path_open(fd 3, O_CREAT, rights fd_write) of the path at {@link #TEXT}; exits with the errno.
     */
    static byte[] openCreate(String path) {
      return concat(
          i32(3),
          i32(0),
          i32(TEXT),
          i32(path.length()),
          i32(1),
          bytes(0x42),
          sleb(1 << 6),
          bytes(0x42),
          sleb(0),
          i32(0),
          i32(256),
          call(PATH_OPEN),
          call(PROC_EXIT));
    }
  }
}
