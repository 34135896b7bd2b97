package io.krill.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code krill version}: what is installed, for bug reports. */
@Command(name = "version", description = "print krill's version, build and runtime information")
final class VersionCommand implements Callable<Integer> {
  private final Console console;

  @Mixin Options.Help help;

  VersionCommand(Console console) {
    this.console = console;
  }

  @Override
  public Integer call() {
    BuildInfo b = BuildInfo.load();
    console.out().println("krill " + b.version());
    console.out().println("  built:        " + b.built());
    console
        .out()
        .println(
            "  java runtime: "
                + System.getProperty("java.vm.name")
                + " "
                + System.getProperty("java.runtime.version")
                + " ("
                + System.getProperty("java.home")
                + ")");
    console.out().println("  wasmtime:     wasmtime-java " + b.wasmtimeJava());
    console.out().println("  home:         " + console.home());
    console
        .out()
        .println(
            "  platform:     "
                + System.getProperty("os.name").toLowerCase()
                + "/"
                + System.getProperty("os.arch"));
    return 0;
  }
}
