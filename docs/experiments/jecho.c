// Runs JEcho (docs/experiments/JEcho.java, compiled to $JECHO_CP with natgw.jar on the class path) under the
// arguments nulltun.c takes, so that natgw bench can measure it as its --nulltun row:
//   javac -cp gateway/target/natgw.jar -d /tmp/jecho docs/experiments/JEcho.java
//   JECHO_CP=$PWD/gateway/target/natgw.jar:/tmp/jecho ./natgw bench connect-storm --nulltun docs/experiments/jecho.c ...
// -Dbatch=N (JECHO_BATCH) sets how many packets a read loop takes before writing them.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char *args[16], batch[64]; int n = 0;
  const char *cp = getenv("JECHO_CP"), *b = getenv("JECHO_BATCH");
  if (!cp) { fprintf(stderr, "jecho: set JECHO_CP\n"); return 2; }
  snprintf(batch, sizeof batch, "-Dbatch=%s", b ? b : "64");
  args[n++] = "java"; args[n++] = "-XX:+UseParallelGC"; args[n++] = "-Dagrona.disable.bounds.checks=true";
  args[n++] = batch; args[n++] = "-cp"; args[n++] = (char *)cp; args[n++] = "JEcho";
  for (int i = 1; i < argc && n < 15; i++) args[n++] = argv[i];
  args[n] = 0;
  execvp("java", args); perror("java"); return 127;
}
