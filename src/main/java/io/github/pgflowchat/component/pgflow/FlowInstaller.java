package io.github.pgflowchat.component.pgflow;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Installs flow versions in pgflow and reads them back. Instances that start at the same moment with the same
 * shape serialise on an advisory lock of the version, so the version is created once and every instance then
 * finds it equal to its shape.
 */
public final class FlowInstaller {

    private static final Logger log = LoggerFactory.getLogger(FlowInstaller.class);

    private final JdbcTemplate jdbc;
    private final TransactionTemplate transactions;

    public FlowInstaller(DataSource dataSource) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    /**
     * Creates the version of {@code shape} unless it exists; an existing version must equal the shape.
     *
     * @return whether this call created it
     * @throws IllegalStateException if a flow of that slug exists with another shape (both are in the message)
     */
    public boolean install(FlowShape shape) {
        String version = shape.versionSlug();
        Boolean created = transactions.execute(status -> {
            jdbc.query("select pg_advisory_xact_lock(?)", rs -> null, FlowCompiler.lockKey(version));
            if (exists(version)) {
                FlowShape stored = read(version);
                if (!stored.canonicalForm().equals(shape.canonicalForm())) {
                    throw new IllegalStateException("Flow version " + version + " in pgflow differs from the declared shape."
                            + "\nDeclared:\n" + shape.canonicalForm() + "\nStored:\n" + stored.canonicalForm());
                }
                return false;
            }
            jdbc.execute(FlowCompiler.sql(shape));
            return true;
        });
        log.info("Flow {}: version {} {} (steps {})", shape.flow(), version,
                Boolean.TRUE.equals(created) ? "installed" : "already installed",
                shape.steps().stream().map(StepShape::slug).toList());
        return Boolean.TRUE.equals(created);
    }

    /**
     * The shape of a flow as stored in pgflow.flows, pgflow.steps and pgflow.deps, with each option as pgflow applies
     * it (the step's own, else the flow's). The base flow is the slug without its {@code _<8 hex>} suffix.
     *
     * @throws IllegalArgumentException if there is no such flow
     * @throws IllegalStateException if a step is one a FlowShape cannot describe (a map step, a start delay) or
     *         pgflow's dependency count disagrees with its dependency rows (the run would never reach that step)
     */
    public FlowShape read(String versionSlug) {
        if (!exists(versionSlug)) {
            throw new IllegalArgumentException("pgflow has no flow " + versionSlug);
        }
        List<StepShape> steps = jdbc.query("""
                        select s.step_slug, s.step_type, s.deps_count, s.opt_start_delay,
                               coalesce(s.opt_max_attempts, f.opt_max_attempts) as max_attempts,
                               coalesce(s.opt_base_delay, f.opt_base_delay) as base_delay,
                               coalesce(s.opt_timeout, f.opt_timeout) as timeout,
                               array(select d.dep_slug from pgflow.deps d
                                      where d.flow_slug = s.flow_slug and d.step_slug = s.step_slug
                                      order by d.dep_slug) as deps
                          from pgflow.steps s
                          join pgflow.flows f on f.flow_slug = s.flow_slug
                         where s.flow_slug = ?
                         order by s.step_index
                        """,
                (rs, i) -> storedStep(versionSlug, rs), versionSlug);
        return new FlowShape(FlowShape.baseFlowOf(versionSlug), steps);
    }


    private boolean exists(String versionSlug) {
        return Boolean.TRUE.equals(jdbc.queryForObject(
                "select exists (select 1 from pgflow.flows where flow_slug = ?)", Boolean.class, versionSlug));
    }

    private static StepShape storedStep(String versionSlug, ResultSet rs) throws SQLException {
        String slug = rs.getString("step_slug");
        String where = "flow " + versionSlug + ", step " + slug + ": ";
        if (!"single".equals(rs.getString("step_type"))) {
            throw new IllegalStateException(where + "a " + rs.getString("step_type") + " step, which a flow shape cannot describe");
        }
        int startDelay = rs.getInt("opt_start_delay");
        if (startDelay != 0) {
            throw new IllegalStateException(where + "a start delay of " + startDelay + " s, which a flow shape cannot describe");
        }
        Array deps = rs.getArray("deps");
        List<String> dependsOn = new ArrayList<>(Arrays.asList((String[]) deps.getArray()));
        deps.free();
        int depsCount = rs.getInt("deps_count");
        if (depsCount != dependsOn.size()) {
            throw new IllegalStateException(where + "pgflow counts " + depsCount + " dependencies but lists " + dependsOn
                    + ", so its runs would never start this step");
        }
        return new StepShape(slug, dependsOn, rs.getInt("max_attempts"), rs.getInt("base_delay"), rs.getInt("timeout"));
    }
}
