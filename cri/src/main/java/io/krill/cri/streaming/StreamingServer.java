package io.krill.cri.streaming;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The CRI streaming server: Exec, Attach and PortForward return a URL on it ({@code
 * http://HOST:PORT/exec/TOKEN}, {@code .../portforward/TOKEN}), and the client (kubelet's proxy,
 * kubectl through it, crictl) connects there with an HTTP/1.1 upgrade to SPDY/3.1 and Kubernetes'
 * remote command or port forward protocol, as with containerd's and CRI-O's servers. Each URL
 * serves one connection within a minute of being issued. It listens on loopback unless told
 * otherwise: whoever reaches it with a token can run code in the container, and kubelet, which
 * proxies to it, runs on the same node.
 */
public final class StreamingServer implements AutoCloseable {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final ExecutorService sessions =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "krill-stream-session");
            t.setDaemon(true);
            return t;
          });
  private final RequestCache requests = new RequestCache(Clock.systemUTC());
  private final Channel channel;
  private final String base;

  private StreamingServer(InetSocketAddress address) throws InterruptedException {
    channel =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast("http", new HttpServerCodec())
                        .addLast("aggregate", new HttpObjectAggregator(64 * 1024))
                        .addLast("front", new UpgradeFront(requests, sessions));
                  }
                })
            .bind(address)
            .sync()
            .channel();
    InetSocketAddress bound = (InetSocketAddress) channel.localAddress();
    String host = bound.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    base = "http://" + host + ":" + bound.getPort();
  }

  /** Listens on {@code address} (port 0: any free port). */
  public static StreamingServer start(InetSocketAddress address) {
    try {
      return new StreamingServer(address);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(
          "interrupted while binding the streaming server to " + address, e);
    }
  }

  /** Keeps {@code request} until its client connects; returns the URL to give that client. */
  public String register(StreamRequest request) {
    return url(request);
  }

  /** Keeps a port forward until its client connects; returns the URL to give that client. */
  public String register(ForwardRequest request) {
    return url(request);
  }

  private String url(Issued request) {
    return base + "/" + request.path() + "/" + requests.put(request);
  }

  /** {@code http://HOST:PORT}. */
  public String baseUrl() {
    return base;
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    sessions.shutdownNow();
  }
}
