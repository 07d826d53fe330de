import { load } from 'js-yaml';

/**
 * YAML for DB-less Kong, whose `GET /config` answers only YAML. A module of its own so that the DB-less client can
 * import it on first use while esbuild still tree-shakes js-yaml (a dynamic import of the package itself would keep
 * all of it, its writer included).
 */
export const parseYaml = (text: string): unknown => load(text);
