package io.krill.cri.streaming;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Kubernetes' remote command protocol over SPDY streams, server side: the versions a client may ask
 * for in {@code X-Stream-Protocol-Version}, the streams it opens (header {@code streamType}), and
 * what the server writes on the error stream when the command ends. Version 4 writes a JSON {@code
 * metav1.Status} (with the exit code as a cause, which kubectl and crictl turn into their own exit
 * code); versions 1 to 3 write the error text, or nothing on success. Versions 3 and 4 add a resize
 * stream when there is a tty.
 */
final class RemoteCommand {
  static final String V4 = "v4.channel.k8s.io";
  static final String V3 = "v3.channel.k8s.io";
  static final String V2 = "v2.channel.k8s.io";
  static final String V1 = "channel.k8s.io";

  /** In the server's order of preference; the client's order decides, as in kubelet. */
  static final List<String> SUPPORTED = List.of(V4, V3, V2, V1);

  static final String PROTOCOL_HEADER = "X-Stream-Protocol-Version";
  static final String ACCEPTED_HEADER = "X-Accepted-Stream-Protocol-Versions";
  static final String STREAM_TYPE = "streamtype";

  private static final ObjectMapper JSON = new ObjectMapper();

  private RemoteCommand() {}

  /**
   * The first protocol the client offers that krill speaks; {@code ""} (version 1) when the client
   * offers none, as old clients do; null when none of its offers is spoken here.
   */
  static String negotiate(List<String> offered) {
    List<String> flat = new ArrayList<>();
    for (String h : offered) {
      for (String p : h.split(",")) {
        if (!p.isBlank()) {
          flat.add(p.strip());
        }
      }
    }
    if (flat.isEmpty()) {
      return "";
    }
    return flat.stream().filter(SUPPORTED::contains).findFirst().orElse(null);
  }

  static int version(String protocol) {
    return switch (protocol) {
      case V4 -> 4;
      case V3 -> 3;
      case V2 -> 2;
      default -> 1;
    };
  }

  /**
   * How many streams the client opens for a request: error, the requested stdio, and resize with a
   * tty.
   */
  static int expectedStreams(StreamRequest r, int version) {
    int n = 1;
    n += r.stdin() ? 1 : 0;
    n += r.stdout() ? 1 : 0;
    n += r.stderr() ? 1 : 0;
    n += r.tty() && version >= 3 ? 1 : 0;
    return n;
  }

  /** The bytes for the error stream; empty means write nothing. */
  static byte[] status(Session.Outcome outcome, int version) {
    if (version < 4) {
      if (outcome instanceof Session.Outcome.Exited e) {
        return exitMessage(e.code()).getBytes(StandardCharsets.UTF_8);
      }
      if (outcome instanceof Session.Outcome.Failed f) {
        return f.message().getBytes(StandardCharsets.UTF_8);
      }
      return new byte[0];
    }
    ObjectNode status = JSON.createObjectNode();
    status.putObject("metadata");
    if (outcome instanceof Session.Outcome.Exited e) {
      status.put("status", "Failure");
      status.put("message", exitMessage(e.code()));
      status.put("reason", "NonZeroExitCode");
      status
          .putObject("details")
          .putArray("causes")
          .addObject()
          .put("reason", "ExitCode")
          .put("message", Integer.toString(e.code()));
    } else if (outcome instanceof Session.Outcome.Failed f) {
      status.put("status", "Failure");
      status.put("message", f.message());
      status.put("reason", "InternalError");
      status.putObject("details").putArray("causes").addObject().put("message", f.message());
      status.put("code", 500);
    } else {
      status.put("status", "Success");
    }
    return status.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String exitMessage(int code) {
    return "command terminated with non-zero exit code: " + code;
  }
}
