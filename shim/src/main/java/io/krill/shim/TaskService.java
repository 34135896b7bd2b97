package io.krill.shim;

import com.google.protobuf.Empty;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import io.krill.containerd.cgroups.v2.CPUStat;
import io.krill.containerd.cgroups.v2.MemoryStat;
import io.krill.containerd.cgroups.v2.Metrics;
import io.krill.containerd.cgroups.v2.PidsStat;
import io.krill.containerd.task.v2.CheckpointTaskRequest;
import io.krill.containerd.task.v2.CloseIORequest;
import io.krill.containerd.task.v2.ConnectRequest;
import io.krill.containerd.task.v2.ConnectResponse;
import io.krill.containerd.task.v2.CreateTaskRequest;
import io.krill.containerd.task.v2.CreateTaskResponse;
import io.krill.containerd.task.v2.DeleteRequest;
import io.krill.containerd.task.v2.DeleteResponse;
import io.krill.containerd.task.v2.ExecProcessRequest;
import io.krill.containerd.task.v2.KillRequest;
import io.krill.containerd.task.v2.PauseRequest;
import io.krill.containerd.task.v2.PidsRequest;
import io.krill.containerd.task.v2.PidsResponse;
import io.krill.containerd.task.v2.ResizePtyRequest;
import io.krill.containerd.task.v2.ResumeRequest;
import io.krill.containerd.task.v2.ShutdownRequest;
import io.krill.containerd.task.v2.StartRequest;
import io.krill.containerd.task.v2.StartResponse;
import io.krill.containerd.task.v2.StateRequest;
import io.krill.containerd.task.v2.StateResponse;
import io.krill.containerd.task.v2.StatsRequest;
import io.krill.containerd.task.v2.StatsResponse;
import io.krill.containerd.task.v2.UpdateTaskRequest;
import io.krill.containerd.task.v2.WaitRequest;
import io.krill.containerd.task.v2.WaitResponse;
import io.krill.containerd.types.task.ProcessInfo;
import io.krill.containerd.types.task.Status;
import io.krill.daemon.LogFormat;
import io.krill.oci.RuntimeSpec;
import io.krill.runtime.ExecSpec;
import io.krill.runtime.ExitStatus;
import io.krill.runtime.ImageModules;
import io.krill.runtime.Stdio;
import io.krill.runtime.TaskInfo;
import io.krill.runtime.TaskManager;
import io.krill.runtime.TaskSpec;
import io.krill.runtime.TaskStats;
import io.krill.ttrpc.Code;
import io.krill.ttrpc.TtrpcException;
import io.krill.ttrpc.TtrpcServer;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * {@code containerd.task.v2.Task} over ttrpc: decodes requests, calls the {@link TaskManager},
 * encodes replies. No lifecycle logic lives here.
 */
final class TaskService {
  private static final System.Logger LOG = System.getLogger("krill.tasks");
  static final String SERVICE = "containerd.task.v2.Task";
  static final String VERSION = "0.1.0";

  /**
   * The annotation with which containerd's CRI plugin tells a pod's sandbox from its containers.
   */
  static final String CONTAINER_TYPE = "io.kubernetes.cri.container-type";

  private final TaskManager tasks;
  private final ImageModules images;
  private final Consumer<String> onDeleted;
  private final Runnable onIdleCandidate;

  /**
   * @param images modules of images that carry them as layers, asked when a rootfs has none
   * @param onDeleted told a container's id once it is deleted, before Delete answers containerd
   *     (which then removes the bundle)
   */
  TaskService(
      TaskManager tasks,
      ImageModules images,
      Consumer<String> onDeleted,
      Runnable onIdleCandidate) {
    this.tasks = tasks;
    this.images = images;
    this.onDeleted = onDeleted;
    this.onIdleCandidate = onIdleCandidate;
  }

  TaskService(TaskManager tasks, ImageModules images, Runnable onIdleCandidate) {
    this(tasks, images, id -> {}, onIdleCandidate);
  }

  TaskService(TaskManager tasks, Runnable onIdleCandidate) {
    this(tasks, ImageModules.NONE, onIdleCandidate);
  }

  @FunctionalInterface
  interface Parser<T> {
    T parse(byte[] bytes) throws InvalidProtocolBufferException;
  }

  @FunctionalInterface
  interface Call<T> {
    CompletionStage<? extends MessageLite> apply(T request) throws Exception;
  }

  /**
   * Serves one method: decodes the request, runs the call, maps its failure to a status once
   * ({@link Errors}) and logs it as a line about the container {@code container} names.
   */
  static <T> void register(
      TtrpcServer server,
      String service,
      String method,
      Parser<T> parser,
      Function<T, String> container,
      Call<T> call) {
    server.register(
        service,
        method,
        (ctx, payload) -> {
          T request;
          try {
            request = parser.parse(payload);
          } catch (InvalidProtocolBufferException e) {
            throw new TtrpcException(
                Code.INVALID_ARGUMENT, method + ": malformed request: " + e.getMessage());
          }
          String id = container.apply(request);
          try {
            return call.apply(request)
                .handle(
                    (reply, error) -> {
                      if (error != null) {
                        throw logged(
                            method,
                            id,
                            Errors.toTtrpc(
                                error instanceof CompletionException c && c.getCause() != null
                                    ? c.getCause()
                                    : error));
                      }
                      return reply.toByteArray();
                    });
          } catch (Exception e) {
            throw logged(method, id, Errors.toTtrpc(e));
          }
        });
  }

  /**
   * The daemon log says why a call failed, on a line about the container ({@code container=<id>}),
   * not only containerd's.
   */
  private static TtrpcException logged(String method, String id, TtrpcException e) {
    // containerd asks after gone tasks as a matter of course; a refused feature is worth a line.
    Level level =
        e.code() == Code.NOT_FOUND
            ? Level.DEBUG
            : e.code() == Code.UNIMPLEMENTED ? Level.INFO : Level.WARNING;
    String prefix = "container " + id + ": ";
    String message = e.getMessage();
    LOG.log(
        level,
        LogFormat.CONTAINER + "{1} failed ({2}): {3}",
        id,
        method,
        e.code(),
        message != null && message.startsWith(prefix)
            ? message.substring(prefix.length())
            : message);
    return e;
  }

  private static <T extends MessageLite> CompletionStage<T> done(T reply) {
    return CompletableFuture.completedFuture(reply);
  }

  void registerOn(TtrpcServer s) {
    register(
        s, SERVICE, "Create", CreateTaskRequest::parseFrom, CreateTaskRequest::getId, this::create);
    register(
        s,
        SERVICE,
        "Start",
        StartRequest::parseFrom,
        StartRequest::getId,
        r ->
            done(StartResponse.newBuilder().setPid(tasks.start(r.getId(), r.getExecId())).build()));
    register(
        s,
        SERVICE,
        "State",
        StateRequest::parseFrom,
        StateRequest::getId,
        r -> done(state(tasks.info(r.getId(), r.getExecId()), r.getExecId())));
    register(
        s,
        SERVICE,
        "Wait",
        WaitRequest::parseFrom,
        WaitRequest::getId,
        r ->
            tasks
                .waitFor(r.getId(), r.getExecId())
                .thenApply(
                    e ->
                        WaitResponse.newBuilder()
                            .setExitStatus(e.code())
                            .setExitedAt(Protos.timestamp(e.exitedAt()))
                            .build()));
    register(
        s,
        SERVICE,
        "Kill",
        KillRequest::parseFrom,
        KillRequest::getId,
        r -> {
          tasks.kill(r.getId(), r.getExecId(), r.getSignal(), r.getAll());
          return done(Empty.getDefaultInstance());
        });
    register(
        s,
        SERVICE,
        "Delete",
        DeleteRequest::parseFrom,
        DeleteRequest::getId,
        r -> {
          int pid = tasks.info(r.getId(), r.getExecId()).pid();
          ExitStatus status = tasks.delete(r.getId(), r.getExecId());
          if (r.getExecId().isEmpty()) {
            onDeleted.accept(r.getId());
          }
          return done(deleteResponse(status, pid));
        });
    register(
        s, SERVICE, "Exec", ExecProcessRequest::parseFrom, ExecProcessRequest::getId, this::exec);
    register(
        s,
        SERVICE,
        "Pids",
        PidsRequest::parseFrom,
        PidsRequest::getId,
        r -> {
          PidsResponse.Builder b = PidsResponse.newBuilder();
          tasks
              .pids(r.getId())
              .forEach(pid -> b.addProcesses(ProcessInfo.newBuilder().setPid(pid)));
          return done(b.build());
        });
    register(
        s,
        SERVICE,
        "Connect",
        ConnectRequest::parseFrom,
        ConnectRequest::getId,
        r ->
            done(
                ConnectResponse.newBuilder()
                    .setShimPid(tasks.pid())
                    .setTaskPid(tasks.info(r.getId()).pid())
                    .setVersion(VERSION)
                    .build()));
    register(
        s,
        SERVICE,
        "Shutdown",
        ShutdownRequest::parseFrom,
        ShutdownRequest::getId,
        r -> {
          // containerd sends this after every delete; the daemon leaves only once it hosts nothing.
          onIdleCandidate.run();
          return done(Empty.getDefaultInstance());
        });
    register(
        s,
        SERVICE,
        "Stats",
        StatsRequest::parseFrom,
        StatsRequest::getId,
        r -> done(stats(tasks.stats(r.getId()))));
    register(
        s, SERVICE, "Update", UpdateTaskRequest::parseFrom, UpdateTaskRequest::getId, this::update);
    register(
        s,
        SERVICE,
        "CloseIO",
        CloseIORequest::parseFrom,
        CloseIORequest::getId,
        r -> {
          if (r.getStdin()) {
            tasks.closeStdin(r.getId(), r.getExecId());
          }
          return done(Empty.getDefaultInstance());
        });
    register(
        s,
        SERVICE,
        "Pause",
        PauseRequest::parseFrom,
        PauseRequest::getId,
        r -> {
          throw Errors.unimplemented(
              r.getId(),
              "a wasm guest cannot be paused, so krill does not implement Pause; the task keeps"
                  + " running (end it with SIGTERM or SIGKILL)");
        });
    register(
        s,
        SERVICE,
        "Resume",
        ResumeRequest::parseFrom,
        ResumeRequest::getId,
        r -> {
          throw Errors.unimplemented(
              r.getId(),
              "a wasm guest cannot be paused, so krill does not implement Resume; the task is"
                  + " left as it was");
        });
    register(
        s,
        SERVICE,
        "Checkpoint",
        CheckpointTaskRequest::parseFrom,
        CheckpointTaskRequest::getId,
        r -> {
          throw Errors.unimplemented(
              r.getId(), "krill does not implement Checkpoint; the task is left as it was");
        });
    register(
        s,
        SERVICE,
        "ResizePty",
        ResizePtyRequest::parseFrom,
        ResizePtyRequest::getId,
        r -> {
          tasks.resizeTerminal(r.getId(), r.getExecId(), r.getWidth(), r.getHeight());
          return done(Empty.getDefaultInstance());
        });
  }

  private CompletionStage<CreateTaskResponse> create(CreateTaskRequest r) {
    if (!r.getCheckpoint().isEmpty()) {
      throw Errors.unimplemented(
          r.getId(), "krill does not implement restoring a checkpoint; create it without one");
    }
    Path bundle = Path.of(r.getBundle());
    TaskSpec spec =
        new TaskSpec(
            r.getId(),
            bundle,
            Protos.rootfs(r.getRootfsList()),
            new Stdio(r.getStdin(), r.getStdout(), r.getStderr(), r.getTerminal()),
            kindOf(bundle),
            images);
    return done(CreateTaskResponse.newBuilder().setPid(tasks.create(spec)).build());
  }

  /**
   * containerd's CRI plugin marks a pod's sandbox in its bundle; krill runs no pause image for it.
   * An unreadable config.json is left for the core to report.
   */
  static TaskSpec.Kind kindOf(Path bundle) {
    try {
      return "sandbox".equals(RuntimeSpec.read(bundle).annotations().get(CONTAINER_TYPE))
          ? TaskSpec.Kind.POD_SANDBOX
          : TaskSpec.Kind.WASM;
    } catch (IOException | RuntimeException e) {
      return TaskSpec.Kind.WASM;
    }
  }

  private CompletionStage<Empty> update(UpdateTaskRequest r) throws IOException {
    if (r.hasResources() && !r.getResources().getValue().isEmpty()) {
      byte[] resources = r.getResources().getValue().toByteArray();
      var limit = RuntimeSpec.memoryLimitOfResources(resources);
      if (limit.isPresent()) {
        tasks.updateMemoryLimit(r.getId(), limit.get());
      }
      var cpu = RuntimeSpec.cpuOfResources(resources);
      if (cpu.isPresent()) {
        tasks.updateCpu(r.getId(), cpu.get());
      } else {
        tasks.info(r.getId());
      }
    } else {
      tasks.info(r.getId());
    }
    return done(Empty.getDefaultInstance());
  }

  private CompletionStage<Empty> exec(ExecProcessRequest r) throws IOException {
    if (!r.hasSpec() || r.getSpec().getValue().isEmpty()) {
      throw new TtrpcException(
          Code.INVALID_ARGUMENT,
          "container " + r.getId() + ": exec " + r.getExecId() + " has no process spec");
    }
    RuntimeSpec.Process process = RuntimeSpec.parseProcess(r.getSpec().getValue().toByteArray());
    tasks.exec(
        new ExecSpec(
            r.getId(),
            r.getExecId(),
            process,
            new Stdio(r.getStdin(), r.getStdout(), r.getStderr(), r.getTerminal())));
    return done(Empty.getDefaultInstance());
  }

  static DeleteResponse deleteResponse(ExitStatus e, int pid) {
    return DeleteResponse.newBuilder()
        .setPid(pid)
        .setExitStatus(e.code())
        .setExitedAt(Protos.timestamp(e.exitedAt()))
        .build();
  }

  private static StateResponse state(TaskInfo t, String execId) {
    StateResponse.Builder b =
        StateResponse.newBuilder()
            .setId(t.id())
            .setBundle(t.bundle().toString())
            .setPid(t.pid())
            .setTerminal(t.terminal())
            .setExecId(execId);
    b.setStatus(
        switch (t.state()) {
          case CREATED -> Status.CREATED;
          case RUNNING -> Status.RUNNING;
          case STOPPED, DELETED -> Status.STOPPED;
        });
    if (t.stdin() != null) {
      b.setStdin(t.stdin());
    }
    if (t.stdout() != null) {
      b.setStdout(t.stdout());
    }
    if (t.stderr() != null) {
      b.setStderr(t.stderr());
    }
    if (t.exit() != null) {
      b.setExitStatus(t.exit().code()).setExitedAt(Protos.timestamp(t.exit().exitedAt()));
    }
    return b.build();
  }

  private static StatsResponse stats(TaskStats s) {
    Metrics m =
        Metrics.newBuilder()
            .setPids(PidsStat.newBuilder().setCurrent(s.processes()))
            .setCpu(
                CPUStat.newBuilder()
                    .setUsageUsec(s.cpuNanos() / 1000)
                    .setUserUsec(s.cpuNanos() / 1000))
            .setMemory(
                MemoryStat.newBuilder()
                    .setUsage(s.memoryBytes())
                    .setAnon(s.memoryBytes())
                    .setUsageLimit(s.memoryLimitBytes()))
            .build();
    return StatsResponse.newBuilder().setStats(Protos.any(m)).build();
  }
}
