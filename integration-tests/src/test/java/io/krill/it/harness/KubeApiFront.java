package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import io.krill.cri.api.v1.AttachRequest;
import io.krill.cri.api.v1.ExecRequest;
import io.krill.cri.api.v1.PortForwardRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * What the API server and kubelet do for {@code kubectl exec}, {@code kubectl attach} and {@code
 * kubectl port-forward}, and no more, so that the real kubectl (client-go's remote command and port
 * forward clients, the ones crictl uses too) can reach krill's streaming server: it answers API
 * discovery and GET of the pods it is told about, and for a pod's {@code exec}, {@code attach} or
 * {@code portforward} subresource it calls CRI Exec/Attach/PortForward on krill, as kubelet does,
 * and relays the connection, upgrade request and all, to the URL krill returned. The bytes between
 * kubectl and krill pass unchanged.
 */
public final class KubeApiFront implements AutoCloseable {
  /**
   * A pod as kubectl sees it: its one container, the CRI id the runtime gave that container, and
   * the pod sandbox's id (for port-forward; empty when no test forwards to it).
   */
  public record PodEntry(String container, String containerId, boolean stdin, String sandboxId) {
    public PodEntry(String container, String containerId, boolean stdin) {
      this(container, containerId, stdin, "");
    }
  }

  /** What a kubectl run printed and how it exited. */
  public record Kubectl(int exit, byte[] stdout, String stderr) {
    public String out() {
      return new String(stdout, StandardCharsets.UTF_8);
    }
  }

  private final CriClient cri;
  private final ServerSocket server;
  private final Map<String, PodEntry> pods = new ConcurrentHashMap<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  public KubeApiFront(CriClient cri) throws IOException {
    this.cri = cri;
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::acceptLoop, "kube-api-front");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public void addPod(String name, PodEntry entry) {
    pods.put(name, entry);
  }

  /** Request lines seen, in order ("POST /api/v1/.../exec"). */
  public List<String> requests() {
    return requests;
  }

  /** A kubeconfig for kubectl pointing at this front. */
  public Path kubeconfig(Path dir) throws IOException {
    Path p = dir.resolve("kubeconfig");
    Files.writeString(
        p,
        String.join(
            "\n",
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: front",
            "  cluster:",
            "    server: http://127.0.0.1:" + server.getLocalPort(),
            "contexts:",
            "- name: front",
            "  context:",
            "    cluster: front",
            "    user: nobody",
            "    namespace: default",
            "current-context: front",
            "users:",
            "- name: nobody",
            "  user: {}",
            ""));
    return p;
  }

  /**
   * Runs kubectl against this front with {@code input} as its stdin (null: stdin is closed), its
   * config, cache and home in {@code dir}.
   */
  public Kubectl kubectl(Path dir, byte[] input, String... args)
      throws IOException, InterruptedException {
    return run(dir, input, false, args);
  }

  /**
   * Runs kubectl with {@code input} written to its stdin, which then stays open (a user who typed
   * that and nothing more) until kubectl exits on its own.
   */
  public Kubectl kubectlKeepingStdinOpen(Path dir, byte[] input, String... args)
      throws IOException, InterruptedException {
    return run(dir, input, true, args);
  }

  /**
   * Runs kubectl with a terminal of its own (under {@code script}), as a person at a shell would,
   * so that {@code -t} gives the exec a tty; nothing is typed, and the terminal stays open until
   * kubectl exits (with a tty, containerd stops copying the exec's output once kubectl's input
   * ends, as it does for runc). What kubectl wrote comes back as stdout.
   */
  public Kubectl kubectlInTerminal(Path dir, String... args)
      throws IOException, InterruptedException {
    return run(dir, null, true, true, args);
  }

  /**
   * Starts kubectl (a {@code port-forward}, which runs until stopped) with stdin closed and its
   * output going to {@code out} and {@code err}; the caller destroys it.
   */
  public Process startKubectl(Path dir, Path out, Path err, String... args) throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "kubectl",
                "--kubeconfig",
                kubeconfig(dir).toString(),
                "--cache-dir",
                dir.resolve("kube-cache").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().put("HOME", dir.toString());
    return pb.start();
  }

  private Kubectl run(Path dir, byte[] input, boolean keepStdinOpen, String... args)
      throws IOException, InterruptedException {
    return run(dir, input, keepStdinOpen, false, args);
  }

  private Kubectl run(
      Path dir, byte[] input, boolean keepStdinOpen, boolean terminal, String... args)
      throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "kubectl",
                "--kubeconfig",
                kubeconfig(dir).toString(),
                "--cache-dir",
                dir.resolve("kube-cache").toString()));
    cmd.addAll(List.of(args));
    if (terminal) {
      StringBuilder line = new StringBuilder();
      for (String a : cmd) {
        line.append(line.length() == 0 ? "" : " ").append("'").append(a.replace("'", "'\\''"));
        line.append("'");
      }
      cmd = new ArrayList<>(List.of("script", "-qec", line.toString(), "/dev/null"));
    }
    Path out = Files.createTempFile(dir, "kubectl", ".out");
    Path err = Files.createTempFile(dir, "kubectl", ".err");
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().put("HOME", dir.toString());
    Process p = pb.start();
    OutputStream in = p.getOutputStream();
    try {
      if (input != null) {
        in.write(input);
        in.flush();
      }
      if (!keepStdinOpen) {
        in.close();
      }
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
        fail("kubectl " + String.join(" ", args) + " did not finish: " + Files.readString(err));
      }
    } finally {
      in.close();
    }
    return new Kubectl(p.exitValue(), Files.readAllBytes(out), Files.readString(err));
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        open.add(s);
        Thread t = new Thread(() -> serve(s), "kube-api-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket client) {
    try (client) {
      InputStream in = client.getInputStream();
      while (true) {
        List<String> head = readHead(in);
        if (head == null) {
          return;
        }
        String[] line = head.get(0).split(" ");
        String method = line[0];
        URI uri = URI.create(line[1]);
        requests.add(method + " " + uri.getPath());
        long length = contentLength(head);
        in.readNBytes((int) length);
        String path = uri.getPath();
        String[] seg = path.split("/");
        // /api/v1/namespaces/NS/pods/NAME[/exec|/attach]
        if (seg.length == 8
            && seg[3].equals("namespaces")
            && seg[5].equals("pods")
            && (seg[7].equals("exec") || seg[7].equals("attach") || seg[7].equals("portforward"))) {
          relay(client, in, head, seg[6], seg[7], query(uri.getRawQuery()));
          return;
        }
        String body;
        int status = 200;
        if (path.equals("/api")) {
          body =
              "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":"
                  + "[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"127.0.0.1\"}]}";
        } else if (path.equals("/apis")) {
          body = "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[]}";
        } else if (path.equals("/api/v1")) {
          body =
              "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
                  + "{\"name\":\"pods\",\"singularName\":\"pod\",\"namespaced\":true,\"kind\":\"Pod\","
                  + "\"verbs\":[\"get\",\"list\"],\"shortNames\":[\"po\"]},"
                  + "{\"name\":\"pods/exec\",\"singularName\":\"\",\"namespaced\":true,"
                  + "\"kind\":\"PodExecOptions\",\"verbs\":[\"create\",\"get\"]},"
                  + "{\"name\":\"pods/attach\",\"singularName\":\"\",\"namespaced\":true,"
                  + "\"kind\":\"PodAttachOptions\",\"verbs\":[\"create\",\"get\"]},"
                  + "{\"name\":\"pods/portforward\",\"singularName\":\"\",\"namespaced\":true,"
                  + "\"kind\":\"PodPortForwardOptions\",\"verbs\":[\"create\",\"get\"]}]}";
        } else if (seg.length == 7
            && seg[3].equals("namespaces")
            && seg[5].equals("pods")
            && pods.containsKey(seg[6])) {
          body = pod(seg[4], seg[6], pods.get(seg[6]));
        } else {
          status = 404;
          body =
              "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                  + "\"message\":\""
                  + path
                  + " not found\",\"reason\":\"NotFound\",\"code\":404}";
        }
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = client.getOutputStream();
        out.write(
            ("HTTP/1.1 "
                    + status
                    + (status == 200 ? " OK" : " Not Found")
                    + "\r\nContent-Type: "
                    + "application/json\r\nContent-Length: "
                    + b.length
                    + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
      }
    } catch (IOException | RuntimeException e) {
      // kubectl went away
    }
  }

  private static String pod(String ns, String name, PodEntry e) {
    return "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\""
        + name
        + "\",\"namespace\":\""
        + ns
        + "\",\"uid\":\"uid-"
        + name
        + "\"},\"spec\":{\"containers\":[{\"name\":\""
        + e.container()
        + "\",\"image\":\"wasm\",\"stdin\":"
        + e.stdin()
        + ",\"stdinOnce\":"
        + e.stdin()
        + "}]},"
        + "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\""
        + e.container()
        + "\",\"ready\":true,\"restartCount\":0,\"image\":\"wasm\",\"imageID\":\"\",\"containerID\":"
        + "\"krill://"
        + e.containerId()
        + "\",\"state\":{\"running\":{}}}]}}";
  }

  /** kubelet's part: ask the runtime for a URL, then proxy the upgrade to it. */
  private void relay(
      Socket client,
      InputStream clientIn,
      List<String> head,
      String podName,
      String what,
      Map<String, List<String>> q)
      throws IOException {
    PodEntry e = pods.get(podName);
    if (e == null) {
      client
          .getOutputStream()
          .write(
              "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      return;
    }
    boolean stdin = flag(q, "stdin");
    boolean stdout = flag(q, "stdout");
    boolean stderr = flag(q, "stderr");
    boolean tty = flag(q, "tty");
    String url;
    try {
      if (what.equals("portforward")) {
        url =
            cri.runtime()
                .portForward(PortForwardRequest.newBuilder().setPodSandboxId(e.sandboxId()).build())
                .getUrl();
      } else if (what.equals("exec")) {
        url =
            cri.runtime()
                .exec(
                    ExecRequest.newBuilder()
                        .setContainerId(e.containerId())
                        .addAllCmd(q.getOrDefault("command", List.of()))
                        .setStdin(stdin)
                        .setStdout(stdout)
                        .setStderr(stderr)
                        .setTty(tty)
                        .build())
                .getUrl();
      } else {
        url =
            cri.runtime()
                .attach(
                    AttachRequest.newBuilder()
                        .setContainerId(e.containerId())
                        .setStdin(stdin)
                        .setStdout(stdout)
                        .setStderr(stderr)
                        .setTty(tty)
                        .build())
                .getUrl();
      }
    } catch (RuntimeException ex) {
      byte[] b = ex.getMessage().getBytes(StandardCharsets.UTF_8);
      client
          .getOutputStream()
          .write(
              ("HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                      + "Content-Length: "
                      + b.length
                      + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      client.getOutputStream().write(b);
      return;
    }
    URI target = URI.create(url);
    try (Socket upstream = new Socket(target.getHost(), target.getPort())) {
      open.add(upstream);
      StringBuilder req =
          new StringBuilder(
              head.get(0).split(" ")[0] + " " + target.getRawPath() + " HTTP/1.1\r\n");
      for (String h : head.subList(1, head.size())) {
        if (!h.toLowerCase().startsWith("host:")) {
          req.append(h).append("\r\n");
        }
      }
      req.append("Host: ")
          .append(target.getHost())
          .append(':')
          .append(target.getPort())
          .append("\r\n\r\n");
      upstream.getOutputStream().write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
      Thread up = new Thread(() -> pipe(clientIn, upstream), "kube-api-up");
      up.setDaemon(true);
      up.start();
      pipe(upstream.getInputStream(), client);
      try {
        up.join(10_000);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void pipe(InputStream from, Socket to) {
    byte[] buf = new byte[16384];
    try {
      int n;
      while ((n = from.read(buf)) > 0) {
        to.getOutputStream().write(buf, 0, n);
        to.getOutputStream().flush();
      }
      to.shutdownOutput();
    } catch (IOException e) {
      // either side closed
    }
  }

  private static boolean flag(Map<String, List<String>> q, String name) {
    List<String> v = q.get(name);
    return v != null && !v.isEmpty() && (v.get(0).equals("true") || v.get(0).equals("1"));
  }

  private static Map<String, List<String>> query(String raw) {
    Map<String, List<String>> q = new ConcurrentHashMap<>();
    if (raw == null) {
      return q;
    }
    for (String kv : raw.split("&")) {
      int eq = kv.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
      q.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
    }
    return q;
  }

  private static long contentLength(List<String> head) {
    for (String h : head) {
      if (h.toLowerCase().startsWith("content-length:")) {
        return Long.parseLong(h.substring(15).strip());
      }
    }
    return 0;
  }

  /** The request line and header lines, or null at end of stream. */
  private static List<String> readHead(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    List<String> lines = new ArrayList<>();
    int c;
    while ((c = in.read()) >= 0) {
      if (c == '\n') {
        String l = line.toString(StandardCharsets.ISO_8859_1);
        if (l.endsWith("\r")) {
          l = l.substring(0, l.length() - 1);
        }
        line.reset();
        if (l.isEmpty()) {
          if (lines.isEmpty()) {
            continue;
          }
          return lines;
        }
        lines.add(l);
      } else {
        line.write(c);
      }
    }
    return null;
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : open) {
      s.close();
    }
  }
}
