package natgw.core.nat;

import java.util.List;

import org.junit.jupiter.api.Test;

import natgw.core.nat.Services.ServiceSpec;
import natgw.core.packet.Ipv4Header;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The service registry (add/set/del, snapshots) and the {@code --service} syntax it is fed with. */
class ServicesTest
{
    private static final int VIP = parseAddress("10.96.0.10");
    private static final int OTHER_VIP = parseAddress("10.96.0.11");
    private static final int B1 = parseAddress("10.0.1.1");
    private static final int B2 = parseAddress("10.0.1.2");
    private static final int B3 = parseAddress("10.0.1.3");
    private static final String KEY = "tcp:10.96.0.10:80";

    private final Services services = new Services();

    private Service service(final String key)
    {
        for (final Service s : services.current().services())
        {
            if (s.key().equals(key))
            {
                return s;
            }
        }
        return null;
    }

    private static Backend backend(final Service s, final int address, final int port)
    {
        for (final Backend b : s.backends())
        {
            if (b.address() == address && b.port() == port)
            {
                return b;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ ServiceSpec: good input

    @Test
    void shouldParseFullServiceSpec()
    {
        final ServiceSpec spec = ServiceSpec.parse("tcp:10.96.0.10:80/wrr/300=10.0.1.1:8080@3,10.0.1.2:8081@0, 10.0.1.3:8082");
        assertEquals(Ipv4Header.PROTO_TCP, spec.protocol);
        assertEquals(VIP, spec.vip);
        assertEquals(80, spec.port);
        assertEquals(Scheduler.WRR, spec.scheduler);
        assertEquals(300, spec.affinitySeconds);
        assertEquals(3, spec.backends.size());
        assertEquals(B1, spec.backends.get(0).address);
        assertEquals(8080, spec.backends.get(0).port);
        assertEquals(3, spec.backends.get(0).weight);
        assertEquals(B2, spec.backends.get(1).address);
        assertEquals(8081, spec.backends.get(1).port);
        assertEquals(0, spec.backends.get(1).weight, "weight 0 is allowed: a draining backend");
        assertEquals(B3, spec.backends.get(2).address);
        assertEquals(8082, spec.backends.get(2).port);
        assertEquals(1, spec.backends.get(2).weight, "default weight");
        assertEquals(KEY, spec.key());
    }

    @Test
    void shouldLeaveSchedulerAndAffinityUnsetWhenNotGiven()
    {
        final ServiceSpec spec = ServiceSpec.parse("udp:10.96.0.10:53=10.0.1.1:53");
        assertEquals(Ipv4Header.PROTO_UDP, spec.protocol);
        assertNull(spec.scheduler, "unset: Services keeps the current scheduler, rr for a new service");
        assertEquals(-1, spec.affinitySeconds);
        assertEquals("udp:10.96.0.10:53", spec.key());
    }

    @Test
    void shouldParseEverySchedulerLabel()
    {
        for (final Scheduler s : Scheduler.values())
        {
            assertEquals(s, ServiceSpec.parseKey("tcp:10.96.0.10:80/" + s.label()).scheduler);
        }
    }

    @Test
    void shouldParseKeyWithoutBackendsAndIgnoreBlankBackends()
    {
        final ServiceSpec key = ServiceSpec.parseKey("  TCP:10.96.0.10:80/mh/0  ");
        assertEquals(KEY, key.key());
        assertEquals(Scheduler.MH, key.scheduler);
        assertEquals(0, key.affinitySeconds);
        assertTrue(key.backends.isEmpty());
        assertEquals(2, ServiceSpec.parse("tcp:10.96.0.10:80=10.0.1.1:80,,10.0.1.2:80,").backends.size());
        assertTrue(ServiceSpec.parse("tcp:10.96.0.10:80=").backends.isEmpty());
    }

    @Test
    void shouldAcceptBoundaryValues()
    {
        final ServiceSpec spec = ServiceSpec.parse("tcp:10.96.0.10:65535/rr/86400=10.0.1.1:1@65535");
        assertEquals(65535, spec.port);
        assertEquals(86400, spec.affinitySeconds);
        assertEquals(1, spec.backends.get(0).port);
        assertEquals(65535, spec.backends.get(0).weight);
    }

    // ------------------------------------------------------------------ ServiceSpec: bad input names the bad text

    private static void assertRefused(final String text, final String... named)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> ServiceSpec.parse(text), text);
        for (final String n : named)
        {
            assertTrue(ex.getMessage().contains(n), "message for '" + text + "' should name '" + n + "': " + ex.getMessage());
        }
    }

    @Test
    void shouldRefuseBadServiceSpecNamingTheBadText()
    {
        assertRefused("tcp:10.96.0.10:80", "'tcp:10.96.0.10:80'", "=");
        assertRefused("tcp:10.96.0.10=10.0.1.1:80", "'tcp:10.96.0.10'");
        assertRefused("tcp:10.96.0.10:80:1=10.0.1.1:80", "'tcp:10.96.0.10:80:1'");
        assertRefused("sctp:10.96.0.10:80=10.0.1.1:80", "'sctp'");
        assertRefused("tcp:10.96.0.300:80=10.0.1.1:80", "'10.96.0.300'");
        assertRefused("tcp:vip:80=10.0.1.1:80", "'vip'");
        assertRefused("tcp:10.96.0.10:0=10.0.1.1:80", "'0'");
        assertRefused("tcp:10.96.0.10:65536=10.0.1.1:80", "'65536'");
        assertRefused("tcp:10.96.0.10:http=10.0.1.1:80", "'http'");
        assertRefused("tcp:10.96.0.10:80/fastest=10.0.1.1:80", "'fastest'");
        assertRefused("tcp:10.96.0.10:80/rr/forever=10.0.1.1:80", "'tcp:10.96.0.10:80/rr/forever'", "affinity");
        assertRefused("tcp:10.96.0.10:80/rr/86401=10.0.1.1:80", "86401");
        assertRefused("tcp:10.96.0.10:80/rr/-1=10.0.1.1:80", "-1");
        assertRefused("tcp:10.96.0.10:80/rr/30/x=10.0.1.1:80", "'tcp:10.96.0.10:80/rr/30/x'");
        assertRefused("tcp:10.96.0.10:80=10.0.1.1", "'10.0.1.1'");
        assertRefused("tcp:10.96.0.10:80=10.0.1.1:80,10.0.1.999:80", "'10.0.1.999'");
        assertRefused("tcp:10.96.0.10:80=10.0.1.1:99999", "'99999'");
        assertRefused("tcp:10.96.0.10:80=10.0.1.1:80@heavy", "'10.0.1.1:80@heavy'", "weight");
        assertRefused("tcp:10.96.0.10:80=10.0.1.1:80@-1", "'10.0.1.1:80@-1'");
        assertRefused("tcp:10.96.0.10:80=10.0.1.1:80@65536", "'10.0.1.1:80@65536'");
        assertRefused("tcp:10.96.0.10:80=10.0.1.1:80@", "'10.0.1.1:80@'");
    }

    // ------------------------------------------------------------------ Services: add, set, del, publish

    @Test
    void shouldStartEmpty()
    {
        assertTrue(services.current().isEmpty());
        assertSame(ServiceTable.EMPTY, services.current());
        assertFalse(services.current().isVip(VIP));
    }

    @Test
    void shouldPublishAddedServiceWithRoundRobinByDefault()
    {
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080,10.0.1.2:8080@2"));
        final ServiceTable table = services.current();
        final Service s = table.find(Ipv4Header.PROTO_TCP, VIP, 80);
        assertEquals(KEY, s.key());
        assertEquals(Scheduler.RR, s.scheduler());
        assertEquals(0, s.affinitySeconds());
        assertEquals(2, s.backends().length);
        assertEquals("10.0.1.1:8080@1", s.backends()[0].toString());
        assertEquals("10.0.1.2:8080@2", s.backends()[1].toString());
        assertNotEquals(s.backends()[0].id(), s.backends()[1].id());
        assertTrue(table.isVip(VIP));
        assertFalse(table.isRemoved(s.backends()[0].id()));
    }

    @Test
    void shouldNeverChangeAPublishedSnapshot()
    {
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080"));
        final ServiceTable before = services.current();
        final int id = before.services().get(0).backends()[0].id();
        services.setWeight(KEY, B1, 8080, 0);
        services.add(ServiceSpec.parse(KEY + "=10.0.1.2:8080"));
        services.removeBackend(KEY, B1, 8080);
        assertNotSame(before, services.current());
        assertEquals(1, before.services().get(0).backends().length);
        assertEquals(1, before.services().get(0).backends()[0].weight());
        assertFalse(before.isRemoved(id), "an old snapshot keeps its view: workers holding it are never surprised");
        assertTrue(services.current().isRemoved(id));
    }

    @Test
    void shouldUpdateSchedulerAffinityAndWeightsOnAddOfAnExistingService()
    {
        services.add(ServiceSpec.parse(KEY + "/wrr/60=10.0.1.1:8080@1"));
        final int id = service(KEY).backends()[0].id();
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080@5,10.0.1.2:8080"));
        final Service s = service(KEY);
        assertEquals(Scheduler.WRR, s.scheduler(), "a spec without scheduler keeps the current one");
        assertEquals(60, s.affinitySeconds(), "a spec without affinity keeps the current one");
        assertEquals(2, s.backends().length);
        assertEquals(id, backend(s, B1, 8080).id(), "the same endpoint keeps its id (its counters and flows)");
        assertEquals(5, backend(s, B1, 8080).weight());
        services.add(ServiceSpec.parseKey(KEY + "/mh/0"));
        assertEquals(Scheduler.MH, service(KEY).scheduler());
        assertEquals(0, service(KEY).affinitySeconds());
        assertEquals(2, service(KEY).backends().length);
    }

    @Test
    void shouldSetWeightKeepingTheBackendId()
    {
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080,10.0.1.2:8080"));
        final int id = backend(service(KEY), B2, 8080).id();
        services.setWeight(KEY, B2, 8080, 0);
        assertEquals(0, backend(service(KEY), B2, 8080).weight());
        assertEquals(id, backend(service(KEY), B2, 8080).id());
        assertFalse(services.current().isRemoved(id), "draining is not removal");
        services.setWeight(KEY, B2, 8080, 7);
        assertEquals(7, backend(service(KEY), B2, 8080).weight());
    }

    @Test
    void shouldRefuseChangesToUnknownServicesAndBackendsNamingThem()
    {
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080"));
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> services.setWeight(KEY, B3, 8080, 1));
        assertTrue(ex.getMessage().contains("10.0.1.3:8080") && ex.getMessage().contains(KEY), ex.getMessage());
        ex = assertThrows(IllegalArgumentException.class, () -> services.setWeight("tcp:10.96.0.99:80", B1, 8080, 1));
        assertTrue(ex.getMessage().contains("tcp:10.96.0.99:80") && ex.getMessage().contains(KEY), "names the known ones too: " + ex.getMessage());
        ex = assertThrows(IllegalArgumentException.class, () -> services.removeBackend(KEY, B1, 9999));
        assertTrue(ex.getMessage().contains("10.0.1.1:9999"), ex.getMessage());
        ex = assertThrows(IllegalArgumentException.class, () -> services.removeService("udp:10.96.0.10:80"));
        assertTrue(ex.getMessage().contains("udp:10.96.0.10:80"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> services.setWeight(KEY, B1, 8080, 65536));
        assertThrows(IllegalArgumentException.class, () -> services.setWeight(KEY, B1, 8080, -1));
        assertEquals(1, backend(service(KEY), B1, 8080).weight(), "a refused change changes nothing");
    }

    @Test
    void shouldMarkRemovedBackendIdsAndKeepOthers()
    {
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080,10.0.1.2:8080,10.0.1.3:8080"));
        final int removed = backend(service(KEY), B2, 8080).id();
        final int kept = backend(service(KEY), B3, 8080).id();
        services.removeBackend(KEY, B2, 8080);
        final Service s = service(KEY);
        assertEquals(2, s.backends().length);
        assertNull(backend(s, B2, 8080));
        assertTrue(services.current().isRemoved(removed));
        assertFalse(services.current().isRemoved(kept));
        assertEquals(kept, backend(s, B3, 8080).id());
    }

    @Test
    void shouldGiveAReAddedEndpointAFreshId()
    {
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080"));
        final int old = service(KEY).backends()[0].id();
        services.removeBackend(KEY, B1, 8080);
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080"));
        final int fresh = service(KEY).backends()[0].id();
        assertNotEquals(old, fresh, "the old id's flows are still to be ended; the new backend's are not");
        assertTrue(services.current().isRemoved(old));
        assertFalse(services.current().isRemoved(fresh));
    }

    @Test
    void shouldRemoveServiceWithAllItsBackendsButKeepItsVipKnown()
    {
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080,10.0.1.2:8080"));
        services.add(ServiceSpec.parse("udp:10.96.0.11:53=10.0.1.1:53"));
        final Backend[] gone = service(KEY).backends();
        services.removeService(KEY);
        assertNull(service(KEY));
        assertNull(services.current().find(Ipv4Header.PROTO_TCP, VIP, 80));
        for (final Backend b : gone)
        {
            assertTrue(services.current().isRemoved(b.id()));
        }
        assertFalse(services.current().isRemoved(service("udp:10.96.0.11:53").backends()[0].id()));
        assertTrue(services.current().isVip(VIP), "a VIP once served is never passed untranslated");
        assertTrue(services.current().isVip(OTHER_VIP));
        assertEquals(1, services.current().services().size());
    }

    @Test
    void shouldKeepServicesOnOneVipApartByProtocolAndPort()
    {
        services.add(ServiceSpec.parse("tcp:10.96.0.10:53=10.0.1.1:53"));
        services.add(ServiceSpec.parse("udp:10.96.0.10:53=10.0.1.2:53"));
        services.add(ServiceSpec.parse("tcp:10.96.0.10:80=10.0.1.3:80"));
        final ServiceTable table = services.current();
        assertEquals(B1, table.find(Ipv4Header.PROTO_TCP, VIP, 53).backends()[0].address());
        assertEquals(B2, table.find(Ipv4Header.PROTO_UDP, VIP, 53).backends()[0].address());
        assertEquals(B3, table.find(Ipv4Header.PROTO_TCP, VIP, 80).backends()[0].address());
        assertEquals(List.of("tcp:10.96.0.10:53", "udp:10.96.0.10:53", "tcp:10.96.0.10:80"),
            table.services().stream().map(Service::key).toList(), "listed in the order added");
    }

    @Test
    void shouldGiveTheSameEndpointInTwoServicesTwoIds()
    {
        services.add(ServiceSpec.parse("tcp:10.96.0.10:80=10.0.1.1:8080"));
        services.add(ServiceSpec.parse("tcp:10.96.0.11:80=10.0.1.1:8080"));
        final int a = service("tcp:10.96.0.10:80").backends()[0].id();
        final int b = service("tcp:10.96.0.11:80").backends()[0].id();
        assertNotEquals(a, b, "counters and removal are per service backend, as in IPVS");
        services.removeBackend("tcp:10.96.0.10:80", B1, 8080);
        assertTrue(services.current().isRemoved(a));
        assertFalse(services.current().isRemoved(b));
    }

    @Test
    void shouldContinueRoundRobinAcrossSnapshots()
    {
        services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080,10.0.1.2:8080,10.0.1.3:8080"));
        final BackendCounters counters = new BackendCounters();
        final int first = services.current().services().get(0).schedule(0, 0, counters);
        services.add(ServiceSpec.parse("udp:10.96.0.11:53=10.0.1.1:53")); // an unrelated change publishes a new snapshot
        final int second = services.current().find(Ipv4Header.PROTO_TCP, VIP, 80).schedule(0, 0, counters);
        assertEquals((first + 1) % 3, second, "a control change must not send the next connections back to backend 0");
    }

    @Test
    void shouldRefuseMoreBackendsThanCountersOverItsLife()
    {
        for (int i = 0; i < BackendCounters.MAX_BACKENDS; i++)
        {
            final ServiceSpec spec = ServiceSpec.parse(KEY + "=10.0.1.1:8080");
            services.add(spec);
            services.removeBackend(KEY, B1, 8080);
        }
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> services.add(ServiceSpec.parse(KEY + "=10.0.1.1:8080")));
        assertTrue(ex.getMessage().contains(String.valueOf(BackendCounters.MAX_BACKENDS)), ex.getMessage());
    }
}
