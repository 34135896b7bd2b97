package io.krill.cri.core;

import io.krill.cri.streaming.Session;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A streaming client's streams held in memory: stdin a fixed text (or none), stdout and stderr
 * collected.
 */
final class TestStreams implements Session.Streams {
  final ByteArrayOutputStream out = new ByteArrayOutputStream();
  final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final InputStream in;

  TestStreams(String stdin) {
    this.in =
        stdin == null ? null : new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public InputStream stdin() {
    return in;
  }

  @Override
  public OutputStream stdout() {
    return out;
  }

  @Override
  public OutputStream stderr() {
    return err;
  }

  @Override
  public boolean tty() {
    return false;
  }

  @Override
  public void onClientGone(Runnable action) {}
}
