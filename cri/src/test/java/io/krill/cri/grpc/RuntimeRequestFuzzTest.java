package io.krill.cri.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.grpc.CallOptions;
import io.grpc.ForwardingServerCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCalls;
import io.krill.cri.api.v1.Container;
import io.krill.cri.api.v1.ContainerConfig;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ContainerStatusRequest;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.ExecSyncRequest;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.LinuxPodSandboxConfig;
import io.krill.cri.api.v1.LinuxSandboxSecurityContext;
import io.krill.cri.api.v1.ListContainersRequest;
import io.krill.cri.api.v1.ListPodSandboxRequest;
import io.krill.cri.api.v1.NamespaceMode;
import io.krill.cri.api.v1.NamespaceOption;
import io.krill.cri.api.v1.PodSandbox;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxMetadata;
import io.krill.cri.api.v1.PodSandboxState;
import io.krill.cri.api.v1.PodSandboxStatusRequest;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.RunPodSandboxRequest;
import io.krill.cri.api.v1.RuntimeServiceGrpc;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import io.krill.cri.api.v1.VersionRequest;
import io.krill.cri.container.ExecSession;
import io.krill.cri.core.CriFixture;
import io.krill.cri.core.Refused;
import io.krill.cri.io.FileTrees;
import io.krill.cri.streaming.StreamingServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Arbitrary protobuf bytes as the request of any unary runtime.v1.RuntimeService call, sent to the
 * real {@link RuntimeFrontDoor} on {@link CriFixture}'s runtime (fake engine, no CNI) over
 * in-process gRPC, with the input choosing whether a running pod's or container's id is put in:
 * every answer is a response or a status a client can act on (INVALID_ARGUMENT, NOT_FOUND,
 * ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, UNIMPLEMENTED, OUT_OF_RANGE; UNKNOWN
 * only for a {@link Refused} request, DEADLINE_EXCEEDED only for an ExecSync that timed out) with a
 * message, never INTERNAL or an unexpected exception; afterwards Version and well-formed requests
 * that clean up what the input made still succeed, and the running pod and container are listed.
 */
class RuntimeRequestFuzzTest {
  private static final Set<Status.Code> ACTIONABLE =
      EnumSet.of(
          Status.Code.INVALID_ARGUMENT,
          Status.Code.NOT_FOUND,
          Status.Code.ALREADY_EXISTS,
          Status.Code.FAILED_PRECONDITION,
          Status.Code.RESOURCE_EXHAUSTED,
          Status.Code.UNIMPLEMENTED,
          Status.Code.OUT_OF_RANGE);

  /** A log file name that stays inside the log directory it is resolved against. */
  private static final Pattern LOG_NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}");

  /** The unary calls, in the order of the proto file (streaming ones never end on their own). */
  private static final List<MethodDescriptor<?, ?>> CALLS = new ArrayList<>();

  /** The cause of the status the server last closed a call with, as it left the front door. */
  private static final AtomicReference<Throwable> LAST_CAUSE = new AtomicReference<>();

  private static Path dir;
  private static Path logs;
  private static CriFixture f;
  private static StreamingServer streaming;
  private static Server server;
  private static ManagedChannel channel;
  private static RuntimeServiceGrpc.RuntimeServiceBlockingStub cri;
  private static String pod;
  private static String container;

  @BeforeAll
  static void startServer() throws Exception {
    dir = Files.createTempDirectory("krill-cri-fuzz");
    logs = dir.resolve("logs");
    f = new CriFixture(dir.resolve("root"));
    streaming = StreamingServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                ServerInterceptors.intercept(
                    new RuntimeFrontDoor(f.runtime, streaming), new CauseRecorder()))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    cri = RuntimeServiceGrpc.newBlockingStub(channel);
    for (MethodDescriptor<?, ?> m :
        RuntimeServiceGrpc.getServiceDescriptor().getMethods().stream()
            .map(m -> (MethodDescriptor<?, ?>) m)
            .toList()) {
      if (m.getType() == MethodDescriptor.MethodType.UNARY) {
        CALLS.add(m);
      }
    }
    startBase();
  }

  @AfterAll
  static void stopServer() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    streaming.close();
    f.close();
    FileTrees.deleteTree(dir);
  }

  @FuzzTest
  void anyRequest_answersActionableStatusAndKeepsServing(FuzzedDataProvider in) {
    MethodDescriptor<?, ?> method = CALLS.get(in.consumeInt(0, CALLS.size() - 1));
    int ids = in.consumeInt(0, 3);
    Message prototype =
        (Message)
            ((MethodDescriptor.PrototypeMarshaller<?>) method.getRequestMarshaller())
                .getMessagePrototype();
    Message request;
    try {
      request = prototype.getParserForType().parseFrom(in.consumeRemainingAsBytes());
    } catch (InvalidProtocolBufferException e) {
      return;
    }
    request = sanitized(method.getBareMethodName(), withIds(request, ids));

    LAST_CAUSE.set(null);
    try {
      call(method, request);
    } catch (StatusRuntimeException e) {
      Status s = e.getStatus();
      Throwable cause = LAST_CAUSE.get();
      String what = method.getBareMethodName() + " answered " + s + " (cause " + cause + ")";
      assertTrue(s.getDescription() != null && !s.getDescription().isBlank(), what);
      boolean actionable =
          ACTIONABLE.contains(s.getCode())
              || (s.getCode() == Status.Code.UNKNOWN && cause instanceof Refused)
              || (s.getCode() == Status.Code.DEADLINE_EXCEEDED
                  && cause instanceof ExecSession.Timeout);
      if (!actionable) {
        AssertionError error = new AssertionError(what);
        if (cause != null) {
          error.initCause(cause);
        }
        throw error;
      }
    }

    assertEquals("krill", cri.version(VersionRequest.getDefaultInstance()).getRuntimeName());
    cleanUp();
  }

  @SuppressWarnings("unchecked")
  private static <Q, R> R call(MethodDescriptor<Q, R> method, Message request) {
    return ClientCalls.blockingUnaryCall(channel, method, CallOptions.DEFAULT, (Q) request);
  }

  /**
   * Ids that name something: selector bit 0 puts the running pod's id in {@code pod_sandbox_id},
   * bit 1 the running container's in {@code container_id}.
   */
  private static Message withIds(Message request, int selector) {
    Message.Builder b = request.toBuilder();
    for (FieldDescriptor field : request.getDescriptorForType().getFields()) {
      if (field.isRepeated() || field.getJavaType() != FieldDescriptor.JavaType.STRING) {
        continue;
      }
      if ((selector & 1) != 0 && field.getName().equals("pod_sandbox_id")) {
        b.setField(field, pod);
      }
      if ((selector & 2) != 0 && field.getName().equals("container_id")) {
        b.setField(field, container);
      }
    }
    return b.build();
  }

  /**
   * Keeps a request's effects inside the test: log directories under the test's, log files as plain
   * names within them, ExecSync commands that exit at once (the fake engine's {@code print}) and
   * short timeouts.
   */
  private static Message sanitized(String method, Message request) {
    switch (method) {
      case "RunPodSandbox" -> {
        RunPodSandboxRequest r = (RunPodSandboxRequest) request;
        return r.toBuilder().setConfig(sanitized(r.getConfig())).build();
      }
      case "CreateContainer" -> {
        CreateContainerRequest r = (CreateContainerRequest) request;
        ContainerConfig c = r.getConfig();
        String log = c.getLogPath();
        return r.toBuilder()
            .setSandboxConfig(sanitized(r.getSandboxConfig()))
            .setConfig(
                c.toBuilder()
                    .setLogPath(log.isEmpty() || LOG_NAME.matcher(log).matches() ? log : "c.log"))
            .build();
      }
      case "ExecSync" -> {
        ExecSyncRequest r = (ExecSyncRequest) request;
        ExecSyncRequest.Builder b = r.toBuilder().setTimeout(Math.floorMod(r.getTimeout(), 3));
        if (r.getCmdCount() > 0) {
          b.clearCmd()
              .addCmd(r.getCmd(0))
              .addCmd("print")
              .addCmd(r.getCmdCount() > 2 ? r.getCmd(2) : "");
        }
        return b.build();
      }
      case "StopContainer" -> {
        StopContainerRequest r = (StopContainerRequest) request;
        return r.toBuilder().setTimeout(Math.floorMod(r.getTimeout(), 2)).build();
      }
      default -> {
        return request;
      }
    }
  }

  private static PodSandboxConfig sanitized(PodSandboxConfig c) {
    return c.getLogDirectory().isEmpty()
        ? c
        : c.toBuilder().setLogDirectory(logs.toString()).build();
  }

  /**
   * Removes every pod and container but the base ones with well-formed requests (which must
   * succeed), and starts the base pod and container again if the input stopped or removed them.
   */
  private static void cleanUp() {
    for (Container c :
        cri.listContainers(ListContainersRequest.getDefaultInstance()).getContainersList()) {
      if (!c.getId().equals(container)) {
        cri.stopContainer(StopContainerRequest.newBuilder().setContainerId(c.getId()).build());
        cri.removeContainer(RemoveContainerRequest.newBuilder().setContainerId(c.getId()).build());
      }
    }
    for (PodSandbox p :
        cri.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
      if (!p.getId().equals(pod)) {
        cri.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
        cri.removePodSandbox(
            RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
      }
    }
    boolean podReady;
    boolean containerRunning;
    try {
      podReady =
          cri.podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
                  .getStatus()
                  .getState()
              == PodSandboxState.SANDBOX_READY;
      containerRunning =
          cri.containerStatus(ContainerStatusRequest.newBuilder().setContainerId(container).build())
                  .getStatus()
                  .getState()
              == ContainerState.CONTAINER_RUNNING;
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.toString());
      podReady = false;
      containerRunning = false;
    }
    if (!podReady || !containerRunning) {
      cri.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      cri.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      startBase();
    }
    assertEquals(
        List.of(pod),
        cri.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList().stream()
            .map(PodSandbox::getId)
            .toList());
    assertEquals(
        List.of(container),
        cri.listContainers(ListContainersRequest.getDefaultInstance()).getContainersList().stream()
            .map(Container::getId)
            .toList());
  }

  /** A host-network pod with one running container (the image's serve command). */
  private static void startBase() {
    pod =
        cri.runPodSandbox(
                RunPodSandboxRequest.newBuilder()
                    .setConfig(
                        PodSandboxConfig.newBuilder()
                            .setMetadata(
                                PodSandboxMetadata.newBuilder()
                                    .setName("base")
                                    .setNamespace("default")
                                    .setUid("uid-base"))
                            .setHostname("base")
                            .setLogDirectory(logs.toString())
                            .setLinux(
                                LinuxPodSandboxConfig.newBuilder()
                                    .setSecurityContext(
                                        LinuxSandboxSecurityContext.newBuilder()
                                            .setNamespaceOptions(
                                                NamespaceOption.newBuilder()
                                                    .setNetwork(NamespaceMode.NODE)))))
                    .build())
            .getPodSandboxId();
    container =
        cri.createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(pod)
                    .setConfig(
                        ContainerConfig.newBuilder()
                            .setMetadata(ContainerMetadata.newBuilder().setName("app"))
                            .setImage(ImageSpec.newBuilder().setImage(CriFixture.IMAGE))
                            .setLogPath("app.log"))
                    .build())
            .getContainerId();
    cri.startContainer(StartContainerRequest.newBuilder().setContainerId(container).build());
  }

  /** Keeps the cause of the status each call is closed with (the client sees only the status). */
  private static final class CauseRecorder implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      return next.startCall(
          new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
              LAST_CAUSE.set(status.getCause());
              super.close(status, trailers);
            }
          },
          headers);
    }
  }
}
