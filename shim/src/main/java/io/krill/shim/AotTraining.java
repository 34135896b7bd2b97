package io.krill.shim;

import com.google.protobuf.MessageLite;
import io.krill.containerd.task.v2.CreateTaskRequest;
import io.krill.containerd.task.v2.DeleteRequest;
import io.krill.containerd.task.v2.StartRequest;
import io.krill.containerd.task.v2.WaitRequest;
import io.krill.containerd.task.v2.WaitResponse;
import io.krill.os.Mounts;
import io.krill.ttrpc.TtrpcClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The training run of the daemon's ahead-of-time cache ({@code scripts/dist.sh}, under the bundled
 * Java runtime with {@code -XX:AOTCacheOutput}): a daemon in this JVM, started as the launcher
 * starts one, serves one hello-world task over its ttrpc socket, Create to Delete, as containerd
 * would ask for it, then leaves on its idle timeout. The cache the JVM writes as it exits holds
 * every class that path loaded, already parsed and linked, so a cold daemon does not read them from
 * the jars again.
 *
 * <p>Usage: {@code AotTraining DIR}, an empty scratch directory short enough for a socket path.
 */
public final class AotTraining {
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  private static final String OUTPUT = "hello from krill\n";

  /** Writes {@link #OUTPUT} to stdout through WASI, as the first guest of a namespace might. */
  private static final String HELLO =
      """
      (module
        (import "wasi_snapshot_preview1" "fd_write"
          (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hello from krill\\n")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 16))
          (i32.store (i32.const 4) (i32.const 17))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
      """;

  private AotTraining() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: AotTraining DIR (an empty scratch directory)");
      System.exit(2);
    }
    Path dir = Path.of(args[0]).toAbsolutePath();
    Path socket = dir.resolve("daemon.sock");
    Path bundle = Files.createDirectories(dir.resolve("bundle"));
    Path rootfs = Files.createDirectories(bundle.resolve("rootfs"));
    Files.writeString(rootfs.resolve("hello.wat"), HELLO);
    Files.writeString(
        bundle.resolve("config.json"),
        "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"/hello.wat\"],\"env\":[],\"cwd\":\"/\"},"
            + "\"root\":{\"path\":\"rootfs\"}}");
    // A real first task mounts its rootfs through libc (JNA), which a training run cannot do
    // unprivileged; a FIFO made the same way loads the same binding.
    Mounts.mkfifo(dir.resolve("fifo"));
    Path stdout = Files.createFile(dir.resolve("stdout"));
    Path stderr = Files.createFile(dir.resolve("stderr"));
    Thread daemon =
        new Thread(
            () -> {
              try {
                Daemon.main(
                    new String[] {
                      "-socket",
                      socket.toString(),
                      "-namespace",
                      "aot-training",
                      // containerd's address, which no one serves: the content store's client is
                      // made as in a real daemon, and a module in the rootfs never calls it.
                      "-address",
                      dir.resolve("containerd.sock").toString(),
                      "-ttrpc-address",
                      "",
                      "-run-dir",
                      dir.resolve("run").toString(),
                      "-idle-timeout",
                      "0.2"
                    });
              } catch (Exception e) {
                fail("the daemon failed: " + e);
              }
            },
            "aot-training-daemon");
    daemon.start();
    try (TtrpcClient client = connect(socket)) {
      String id = "aot-training";
      call(
          client,
          "Create",
          CreateTaskRequest.newBuilder()
              .setId(id)
              .setBundle(bundle.toString())
              .setStdout(stdout.toString())
              .setStderr(stderr.toString())
              .build());
      call(client, "Start", StartRequest.newBuilder().setId(id).build());
      int status =
          WaitResponse.parseFrom(call(client, "Wait", WaitRequest.newBuilder().setId(id).build()))
              .getExitStatus();
      call(client, "Delete", DeleteRequest.newBuilder().setId(id).build());
      String out = Files.readString(stdout);
      if (status != 0 || !out.equals(OUTPUT)) {
        fail(
            "the guest exited with "
                + status
                + " and wrote '"
                + out
                + "', stderr '"
                + Files.readString(stderr)
                + "'");
      }
    }
    // The daemon leaves on its idle timeout; the JVM writes the cache as it exits.
    daemon.join(PATIENCE.toMillis());
    fail("the daemon did not leave on its idle timeout");
  }

  private static TtrpcClient connect(Path socket) throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (true) {
      try {
        return TtrpcClient.connect(socket);
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          fail("the daemon did not listen on " + socket + ": " + e.getMessage());
        }
        Thread.sleep(10);
      }
    }
  }

  private static byte[] call(TtrpcClient client, String method, MessageLite request)
      throws Exception {
    return client
        .call(
            TaskService.SERVICE,
            method,
            request.toByteArray(),
            PATIENCE,
            Map.of("containerd-namespace-ttrpc", "aot-training"))
        .get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
  }

  private static void fail(String why) {
    System.err.println("krill AOT training: " + why + " (the daemon's log is in the scratch dir)");
    System.exit(1);
  }
}
