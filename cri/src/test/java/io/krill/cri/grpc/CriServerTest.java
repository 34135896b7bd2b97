package io.krill.cri.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.krill.cri.api.v1.RuntimeServiceGrpc;
import io.krill.cri.api.v1.VersionRequest;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The gRPC server on its unix socket, as {@code krill cri} runs it. */
@Timeout(60)
class CriServerTest {
  @TempDir Path tmp;

  @Test
  void connections_logNoWarningAboutChannelOptions() throws Exception {
    List<String> warnings = new CopyOnWriteArrayList<>();
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
              warnings.add(r.getLoggerName() + ": " + r.getMessage());
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    Logger netty = Logger.getLogger("io.netty");
    netty.addHandler(capture);
    Path socket = tmp.resolve("run/krill.sock");
    EpollEventLoopGroup clientLoop = new EpollEventLoopGroup(1);
    try (CriServer server =
        new CriServer(socket, new RuntimeServiceGrpc.RuntimeServiceImplBase() {})) {
      for (int i = 0; i < 3; i++) {
        ManagedChannel channel =
            NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .eventLoopGroup(clientLoop)
                .channelType(EpollDomainSocketChannel.class)
                // the client's own warning, the same as the server's; kubelet's is Go
                .withOption(ChannelOption.SO_KEEPALIVE, null)
                .usePlaintext()
                .build();
        try {
          StatusRuntimeException e =
              assertThrows(
                  StatusRuntimeException.class,
                  () ->
                      RuntimeServiceGrpc.newBlockingStub(channel)
                          .version(VersionRequest.getDefaultInstance()));
          assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
        } finally {
          channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
      }
    } finally {
      netty.removeHandler(capture);
      clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
    assertEquals(List.of(), warnings);
  }
}
