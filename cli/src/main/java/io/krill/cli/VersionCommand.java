package io.krill.cli;

import java.util.List;
import java.util.Set;

/** {@code krill version}: what is installed, for bug reports. */
final class VersionCommand implements Command {
  @Override
  public String name() {
    return "version";
  }

  @Override
  public String summary() {
    return "print krill's version, build and runtime information";
  }

  @Override
  public String usage() {
    return "";
  }

  @Override
  public int run(List<String> argv, Console console) {
    Args.parse(argv, Set.of(), Set.of());
    BuildInfo b = BuildInfo.load();
    console.out().println("krill " + b.version());
    console.out().println("  built:        " + b.built());
    console.out().println("  java runtime: " + System.getProperty("java.vm.name") + " "
        + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.home") + ")");
    console.out().println("  wasmtime:     wasmtime-java " + b.wasmtimeJava());
    console.out().println("  home:         " + console.home());
    console.out().println("  platform:     " + System.getProperty("os.name").toLowerCase() + "/"
        + System.getProperty("os.arch"));
    return 0;
  }
}
