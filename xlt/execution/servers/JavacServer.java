// A persistent javac: one JVM compiles many programs, so each compile skips JVM
// start-up and JIT warm-up (xlt.execution.accel). Protocol, one request per line
// on stdin: "<folder>\t<source file>\t<classpath>". Reply on stdout:
// "<exit code> <byte count>\n" followed by that many bytes of diagnostics (UTF-8).
// Same options as the command line: -encoding UTF8 -proc:none -cp <classpath> -d <folder>.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import javax.tools.*;

public class JavacServer {
    public static void main(String[] args) throws IOException {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        StandardJavaFileManager files = compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out));
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.split("\t", -1);
            StringWriter diagnostics = new StringWriter();
            int code;
            try {
                List<String> options = Arrays.asList(
                    "-encoding", "UTF8", "-proc:none", "-cp", parts[2], "-d", parts[0]);
                Iterable<? extends JavaFileObject> units =
                    files.getJavaFileObjects(new File(parts[0], parts[1]));
                boolean ok = compiler.getTask(diagnostics, files, null, options, null, units).call();
                code = ok ? 0 : 1;
            } catch (Throwable error) {
                diagnostics.write("javac server: " + error);
                code = 2;
            }
            byte[] text = diagnostics.toString().getBytes(StandardCharsets.UTF_8);
            out.write((code + " " + text.length + "\n").getBytes(StandardCharsets.UTF_8));
            out.write(text);
            out.flush();
        }
    }
}
