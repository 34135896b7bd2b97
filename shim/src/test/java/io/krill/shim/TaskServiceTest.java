package io.krill.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.MessageLite;
import io.krill.containerd.cgroups.v2.Metrics;
import io.krill.containerd.task.v2.ConnectRequest;
import io.krill.containerd.task.v2.ConnectResponse;
import io.krill.containerd.task.v2.CreateTaskRequest;
import io.krill.containerd.task.v2.CreateTaskResponse;
import io.krill.containerd.task.v2.DeleteRequest;
import io.krill.containerd.task.v2.DeleteResponse;
import io.krill.containerd.task.v2.KillRequest;
import io.krill.containerd.task.v2.PauseRequest;
import io.krill.containerd.task.v2.ResizePtyRequest;
import io.krill.containerd.task.v2.ResumeRequest;
import io.krill.containerd.task.v2.ShutdownRequest;
import io.krill.containerd.task.v2.StartRequest;
import io.krill.containerd.task.v2.StartResponse;
import io.krill.containerd.task.v2.StateRequest;
import io.krill.containerd.task.v2.StateResponse;
import io.krill.containerd.task.v2.StatsRequest;
import io.krill.containerd.task.v2.StatsResponse;
import io.krill.containerd.task.v2.WaitRequest;
import io.krill.containerd.task.v2.WaitResponse;
import io.krill.containerd.types.task.Status;
import io.krill.daemon.LogFormat;
import io.krill.engine.wasmtime.WasmtimeEngine;
import io.krill.runtime.TaskManager;
import io.krill.ttrpc.Code;
import io.krill.ttrpc.TtrpcClient;
import io.krill.ttrpc.TtrpcException;
import io.krill.ttrpc.TtrpcServer;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * containerd's view: protobuf requests over a real ttrpc connection to a real TaskManager and
 * Wasmtime.
 */
@Timeout(120)
class TaskServiceTest {
  private static final int PID = 4321;

  /** Only to keep a broken build from hanging; never a performance bound. */
  private static final long PATIENCE_SECONDS = 60;

  @TempDir Path tmp;
  ExecutorService handlers;
  ScheduledExecutorService timer;
  WasmtimeEngine engine;
  TaskManager tasks;
  TtrpcServer server;
  TtrpcClient client;
  final AtomicInteger idleCandidates = new AtomicInteger();
  final List<String> deleted = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    handlers = Executors.newCachedThreadPool();
    timer = Executors.newSingleThreadScheduledExecutor();
    engine = new WasmtimeEngine(Optional.empty());
    tasks = new TaskManager(engine, timer, PID, 0);
    server = new TtrpcServer(tmp.resolve("krill.sock"), handlers);
    // As in the daemon: a module missing from the rootfs is looked up in the image, here of a
    // containerd that knows no container.
    new TaskService(
            tasks,
            new ContentStoreModules(new FakeContentStore(), Optional.empty()),
            deleted::add,
            idleCandidates::incrementAndGet)
        .registerOn(server);
    server.start();
    client = TtrpcClient.connect(tmp.resolve("krill.sock"));
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    server.close();
    for (String id : tasks.ids()) {
      tasks.forceDelete(id);
    }
    tasks.close();
    handlers.shutdownNow();
    timer.shutdownNow();
    handlers.awaitTermination(PATIENCE_SECONDS, TimeUnit.SECONDS);
    engine.close();
  }

  private CompletableFuture<byte[]> callAsync(String method, MessageLite request) {
    return client.call(
        TaskService.SERVICE,
        method,
        request.toByteArray(),
        Duration.ofSeconds(PATIENCE_SECONDS),
        Map.of("containerd-namespace-ttrpc", "default"));
  }

  private byte[] call(String method, MessageLite request) throws Exception {
    try {
      return callAsync(method, request).get(PATIENCE_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }

  private TtrpcException callFails(String method, MessageLite request) {
    return assertThrows(TtrpcException.class, () -> call(method, request));
  }

  /**
   * A bundle with the test resource {@code wasm/<module>} at /app.wat and regular files for stdio.
   */
  private CreateTaskRequest createRequest(String id, String module) throws Exception {
    return createRequest(id, module, "/app.wat");
  }

  /** As above, with {@code argv0} as process.args[0] (JSON-escaped already). */
  private CreateTaskRequest createRequest(String id, String module, String argv0) throws Exception {
    Path bundle = Files.createDirectories(tmp.resolve("bundles").resolve(id));
    Path rootfs = Files.createDirectories(tmp.resolve("rootfs").resolve(id));
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("wasm/" + module)) {
      Files.write(rootfs.resolve("app.wat"), in.readAllBytes());
    }
    Files.createDirectories(rootfs.resolve("dir"));
    Files.writeString(
        bundle.resolve("config.json"),
        "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\""
            + argv0
            + "\"],"
            + "\"env\":[],\"cwd\":\"/\"},\"root\":{\"path\":\""
            + rootfs
            + "\"}}");
    Path stdout = Files.createFile(bundle.resolve("stdout"));
    Path stderr = Files.createFile(bundle.resolve("stderr"));
    return CreateTaskRequest.newBuilder()
        .setId(id)
        .setBundle(bundle.toString())
        .setStdout(stdout.toString())
        .setStderr(stderr.toString())
        .build();
  }

  /** Starts a task and returns once its guest touched its memory, i.e. runs its entry function. */
  private void startRunning(String id) throws Exception {
    call("Start", StartRequest.newBuilder().setId(id).build());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PATIENCE_SECONDS);
    while (Metrics.parseFrom(
                StatsResponse.parseFrom(call("Stats", StatsRequest.newBuilder().setId(id).build()))
                    .getStats()
                    .getValue())
            .getMemory()
            .getUsage()
        == 0) {
      assertTrue(System.nanoTime() < deadline, "guest " + id + " never ran");
      Thread.sleep(10);
    }
  }

  @Test
  void lifecycle_hello_createStartWaitStateDelete() throws Exception {
    CreateTaskRequest create = createRequest("hello", "hello.wat");

    assertEquals(PID, CreateTaskResponse.parseFrom(call("Create", create)).getPid());
    StateResponse created =
        StateResponse.parseFrom(call("State", StateRequest.newBuilder().setId("hello").build()));
    assertEquals(Status.CREATED, created.getStatus());
    assertEquals(create.getBundle(), created.getBundle());
    assertEquals(create.getStdout(), created.getStdout());
    assertEquals("", created.getStdin());

    assertEquals(
        PID,
        StartResponse.parseFrom(call("Start", StartRequest.newBuilder().setId("hello").build()))
            .getPid());
    WaitResponse waited =
        WaitResponse.parseFrom(call("Wait", WaitRequest.newBuilder().setId("hello").build()));
    assertEquals(0, waited.getExitStatus());
    assertTrue(waited.getExitedAt().getSeconds() > 0);
    assertEquals("hello\n", Files.readString(Path.of(create.getStdout())));

    StateResponse stopped =
        StateResponse.parseFrom(call("State", StateRequest.newBuilder().setId("hello").build()));
    assertEquals(Status.STOPPED, stopped.getStatus());
    assertEquals(0, stopped.getExitStatus());
    assertEquals(waited.getExitedAt(), stopped.getExitedAt());
    assertEquals(PID, stopped.getPid());

    DeleteResponse deleted =
        DeleteResponse.parseFrom(call("Delete", DeleteRequest.newBuilder().setId("hello").build()));
    assertEquals(0, deleted.getExitStatus());
    assertEquals(PID, deleted.getPid());
    assertEquals(waited.getExitedAt(), deleted.getExitedAt());
    // Told before Delete answered: containerd removes the bundle next.
    assertEquals(List.of("hello"), this.deleted);
    assertEquals(
        Code.NOT_FOUND,
        callFails("State", StateRequest.newBuilder().setId("hello").build()).code());
  }

  @Test
  void pauseAndResume_runningTask_unimplementedCode12NamingItAndItKeepsRunning() throws Exception {
    call("Create", createRequest("spin", "spin.wat"));
    startRunning("spin");
    for (TtrpcException e :
        List.of(
            callFails("Pause", PauseRequest.newBuilder().setId("spin").build()),
            callFails("Resume", ResumeRequest.newBuilder().setId("spin").build()))) {
      assertEquals(Code.UNIMPLEMENTED, e.code());
      assertEquals(12, e.code().value());
      assertTrue(
          e.getMessage().startsWith("container spin: a wasm guest cannot be paused"),
          e.getMessage());
    }
    assertEquals(Status.RUNNING, state("spin").getStatus());
    call("Kill", KillRequest.newBuilder().setId("spin").setSignal(9).build());
  }

  @Test
  void kill_signalsAGuestCannotTake_refusedAndTheTaskKeepsRunning() throws Exception {
    call("Create", createRequest("spin", "spin.wat"));
    startRunning("spin");
    // 65 and 99999 are no signals (the kernel says EINVAL); 19 and 18 are SIGSTOP and SIGCONT.
    int[][] cases = {{65, 3}, {99999, 3}, {19, 12}, {18, 12}};
    for (int[] c : cases) {
      TtrpcException e =
          callFails("Kill", KillRequest.newBuilder().setId("spin").setSignal(c[0]).build());
      assertEquals(c[1], e.code().value(), e.getMessage());
      assertTrue(e.getMessage().startsWith("container spin: "), e.getMessage());
      assertEquals(Status.RUNNING, state("spin").getStatus());
    }
    CompletableFuture<byte[]> wait =
        callAsync("Wait", WaitRequest.newBuilder().setId("spin").build());
    call("Kill", KillRequest.newBuilder().setId("spin").setSignal(15).build());
    assertEquals(
        143, WaitResponse.parseFrom(wait.get(PATIENCE_SECONDS, TimeUnit.SECONDS)).getExitStatus());
  }

  @Test
  void create_argsZeroNamingNoModule_invalidArgumentNamingIt() throws Exception {
    // args[0] → what the message says; none of these may fall through to the image lookup, whose
    // containerd (here as in a client that skipped it) knows no such container.
    String[][] cases = {
      {"/missing.wasm", "module /missing.wasm not found in the container's root filesystem"},
      {"/dir", "module /dir is a directory"},
      {"", "process.args[0] is empty"},
      {"../../../etc/passwd", "module /../../../etc/passwd not found"},
    };
    int n = 0;
    for (String[] c : cases) {
      String id = "bad-" + n++;
      TtrpcException e = callFails("Create", createRequest(id, "hello.wat", c[0]));
      assertEquals(Code.INVALID_ARGUMENT, e.code(), e.getMessage());
      assertTrue(e.getMessage().startsWith("container " + id + ": " + c[1]), e.getMessage());
      assertEquals(
          Code.NOT_FOUND, callFails("State", StateRequest.newBuilder().setId(id).build()).code());
    }
  }

  @Test
  void log_everyLineAboutATask_namesItsContainer() throws Exception {
    List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
    Logger krill = Logger.getLogger("krill");
    Handler capture =
        new Handler() {
          final LogFormat format = new LogFormat();

          @Override
          public void publish(LogRecord r) {
            lines.add(format.format(r));
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    krill.addHandler(capture);
    try {
      call("Create", createRequest("hello", "hello.wat"));
      call("Start", StartRequest.newBuilder().setId("hello").build());
      call("Wait", WaitRequest.newBuilder().setId("hello").build());
      call("Delete", DeleteRequest.newBuilder().setId("hello").build());
      call("Create", createRequest("spin", "spin.wat"));
      startRunning("spin");
      callFails("Kill", KillRequest.newBuilder().setId("spin").setSignal(99999).build());
      CompletableFuture<byte[]> wait =
          callAsync("Wait", WaitRequest.newBuilder().setId("spin").build());
      call("Kill", KillRequest.newBuilder().setId("spin").setSignal(9).build());
      wait.get(PATIENCE_SECONDS, TimeUnit.SECONDS);
      callFails("Create", createRequest("bad", "hello.wat", "/missing.wasm"));
    } finally {
      krill.removeHandler(capture);
    }

    List<String[]> expected =
        List.of(
            new String[] {"hello", "created"},
            new String[] {"hello", "started"},
            new String[] {"hello", "exited with status 0 (Completed)"},
            new String[] {"hello", "deleted"},
            new String[] {"spin", "Kill failed (INVALID_ARGUMENT): signal 99999 does not exist"},
            new String[] {"spin", "stopping on signal 9"},
            new String[] {"spin", "exited with status 137 (Killed)"},
            new String[] {"bad", "Create failed (INVALID_ARGUMENT): module /missing.wasm"});
    for (String[] e : expected) {
      assertTrue(
          lines.stream().anyMatch(l -> l.contains(" container=" + e[0] + " ") && l.contains(e[1])),
          "no line with container=" + e[0] + " says '" + e[1] + "': " + lines);
    }
    for (String line : lines) {
      if (line.contains("logger=krill.tasks")) {
        assertTrue(line.contains(" container="), "a task line without its container: " + line);
      }
    }
  }

  private StateResponse state(String id) throws Exception {
    return StateResponse.parseFrom(call("State", StateRequest.newBuilder().setId(id).build()));
  }

  @Test
  void state_unknownId_notFound() {
    TtrpcException e = callFails("State", StateRequest.newBuilder().setId("ghost").build());
    assertEquals(Code.NOT_FOUND, e.code());
    assertTrue(e.getMessage().contains("ghost"), e.getMessage());
  }

  @Test
  void state_whileWaitInFlightOnSameConnection_answers() throws Exception {
    call("Create", createRequest("spin", "spin.wat"));
    startRunning("spin");
    CompletableFuture<byte[]> wait =
        callAsync("Wait", WaitRequest.newBuilder().setId("spin").build());

    StateResponse state =
        StateResponse.parseFrom(call("State", StateRequest.newBuilder().setId("spin").build()));

    assertEquals(Status.RUNNING, state.getStatus());
    assertFalse(wait.isDone());
    call("Kill", KillRequest.newBuilder().setId("spin").setSignal(9).build());
    assertEquals(
        137, WaitResponse.parseFrom(wait.get(PATIENCE_SECONDS, TimeUnit.SECONDS)).getExitStatus());
  }

  @Test
  void stats_runningTask_anyTypeUrlIsBareCgroupsV2Metrics() throws Exception {
    call("Create", createRequest("spin", "spin.wat"));
    startRunning("spin");

    Any stats =
        StatsResponse.parseFrom(call("Stats", StatsRequest.newBuilder().setId("spin").build()))
            .getStats();

    assertEquals("io.containerd.cgroups.v2.Metrics", stats.getTypeUrl());
    Metrics metrics = Metrics.parseFrom(stats.getValue());
    assertEquals(1, metrics.getPids().getCurrent());
    call("Kill", KillRequest.newBuilder().setId("spin").setSignal(9).build());
  }

  @Test
  void create_sameIdTwice_alreadyExists() throws Exception {
    CreateTaskRequest create = createRequest("hello", "hello.wat");
    call("Create", create);
    assertEquals(Code.ALREADY_EXISTS, callFails("Create", create).code());
  }

  @Test
  void resizePty_withOrWithoutTerminalOk_unknownTaskNotFound() throws Exception {
    call("Create", createRequest("tty", "hello.wat").toBuilder().setTerminal(true).build());
    call(
        "ResizePty", ResizePtyRequest.newBuilder().setId("tty").setWidth(80).setHeight(24).build());
    call("Create", createRequest("notty", "hello.wat"));
    call(
        "ResizePty",
        ResizePtyRequest.newBuilder().setId("notty").setWidth(80).setHeight(24).build());
    TtrpcException e =
        callFails(
            "ResizePty",
            ResizePtyRequest.newBuilder().setId("nope").setWidth(80).setHeight(24).build());
    assertEquals(Code.NOT_FOUND, e.code());
  }

  @Test
  void create_checkpoint_unimplemented() throws Exception {
    CreateTaskRequest create =
        createRequest("cp", "hello.wat").toBuilder().setCheckpoint("/cp").build();
    assertEquals(Code.UNIMPLEMENTED, callFails("Create", create).code());
  }

  @Test
  void delete_runningTask_failedPrecondition() throws Exception {
    call("Create", createRequest("spin", "spin.wat"));
    startRunning("spin");
    assertEquals(
        Code.FAILED_PRECONDITION,
        callFails("Delete", DeleteRequest.newBuilder().setId("spin").build()).code());
    call("Kill", KillRequest.newBuilder().setId("spin").setSignal(9).build());
  }

  @Test
  void start_withExecId_notFound() throws Exception {
    call("Create", createRequest("hello", "hello.wat"));
    TtrpcException e =
        callFails("Start", StartRequest.newBuilder().setId("hello").setExecId("e1").build());
    assertEquals(Code.NOT_FOUND, e.code());
  }

  @Test
  void kill_afterExit_notFound() throws Exception {
    call("Create", createRequest("hello", "hello.wat"));
    call("Start", StartRequest.newBuilder().setId("hello").build());
    call("Wait", WaitRequest.newBuilder().setId("hello").build());
    assertEquals(
        Code.NOT_FOUND,
        callFails("Kill", KillRequest.newBuilder().setId("hello").setSignal(15).build()).code());
  }

  @Test
  void create_malformedPayload_invalidArgument() {
    CompletableFuture<byte[]> f =
        client.call(
            TaskService.SERVICE,
            "Create",
            new byte[] {(byte) 0xff, (byte) 0xff},
            Duration.ofSeconds(PATIENCE_SECONDS),
            Map.of());
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> f.get(PATIENCE_SECONDS, TimeUnit.SECONDS));
    assertEquals(Code.INVALID_ARGUMENT, ((TtrpcException) e.getCause()).code());
  }

  @Test
  void connect_existingTask_reportsPidsAndVersion() throws Exception {
    call("Create", createRequest("hello", "hello.wat"));
    ConnectResponse r =
        ConnectResponse.parseFrom(
            call("Connect", ConnectRequest.newBuilder().setId("hello").build()));
    assertEquals(PID, r.getShimPid());
    assertEquals(PID, r.getTaskPid());
    assertEquals(TaskService.VERSION, r.getVersion());
  }

  @Test
  void shutdown_any_notifiesIdleCandidate() throws Exception {
    call("Shutdown", ShutdownRequest.newBuilder().setId("x").build());
    assertEquals(1, idleCandidates.get());
  }
}
