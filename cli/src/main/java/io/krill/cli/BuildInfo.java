package io.krill.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** Facts stamped into the CLI jar at build time (Maven resource filtering), no git needed. */
record BuildInfo(String version, String wasmtimeJava, String built) {
  static BuildInfo load() {
    Properties p = new Properties();
    try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new BuildInfo(
        p.getProperty("version", "unknown"),
        p.getProperty("wasmtime-java", "unknown"),
        p.getProperty("built", "unknown"));
  }
}
