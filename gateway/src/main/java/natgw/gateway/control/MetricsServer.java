package natgw.gateway.control;

import java.io.IOException;

import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import natgw.gateway.BuildInfo;
import natgw.gateway.Gateway;

/**
 * The Prometheus endpoint of a gateway, {@code http://HOST:PORT/metrics} (GET or HEAD; text or OpenMetrics as
 * the scraper asks), served by the Prometheus Java client's exporter from a registry of its own: natgw's metrics
 * ({@link GatewayCollector}, read from the gateway at each scrape), {@code natgw_build_info}, and the JVM's and
 * the process's ({@code jvm_*}, {@code process_*}).
 */
public final class MetricsServer implements AutoCloseable
{
    private final HTTPServer server;

    /** Listens on {@code host:port} (port 0: any free one) until {@link #close()}. */
    public MetricsServer(final Gateway gateway, final String host, final int port)
    {
        final PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new GatewayCollector(gateway));
        Info.builder().name("natgw_build_info").help("the natgw build that runs").labelNames("version")
            .register(registry).setLabelValues(BuildInfo.VERSION);
        JvmMetrics.builder().register(registry);
        try
        {
            server = HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart();
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new IllegalStateException("--metrics-address " + host + ":" + port + ": cannot listen there (" +
                ex.getMessage() + "); give another HOST:PORT, or off", ex);
        }
    }

    /** The port it listens on: the one asked for, or the one the kernel chose for port 0. */
    public int port()
    {
        return server.getPort();
    }

    public void close()
    {
        server.close();
    }
}
