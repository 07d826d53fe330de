import { describe, expect, it } from 'vitest';
import { emptyKongState, normalizeEntity } from '../../shared/kong/entities.js';
import { entityId, ownershipTags } from '../../shared/kong/ownership.js';
import { holdParents } from '../../shared/reconcile/foreign.js';
import { diff, keepFailed, plan, planChanges } from '../../shared/reconcile/index.js';
import { objectOfReadFailure, objectOfTags, objectTag } from '../../shared/translate/index.js';

const INSTANCE = 'keep-test';
const service = (name: string, object: string | undefined) =>
  normalizeEntity('service', {
    id: entityId(INSTANCE, 'service', name),
    name,
    host: `${name}.internal`,
    tags: [...ownershipTags(INSTANCE), ...(object ? [objectTag(object)] : [])],
  });

describe('keepFailed (pure)', () => {
  it('keeps the entities of failed objects and of everything under them; removes the rest', () => {
    const current = emptyKongState();
    current.services = [
      service('a', 'appmesh:m/gw/a'),
      service('b', 'appmesh:m/gw2/b'),
      service('c', 'cloudmap:ns/c'),
      service('legacy', undefined),
    ];
    const { state, kept } = keepFailed(current, emptyKongState(), ['appmesh:m/gw', 'cloudmap:ns/c']);
    expect(state.services.map((s) => s.name).sort()).toEqual(['a', 'c']);
    expect(kept).toEqual([
      { object: 'appmesh:m/gw', entities: 1 },
      { object: 'cloudmap:ns/c', entities: 1 },
    ]);
  });

  it('prefers the desired entity when the failed object is also produced again', () => {
    const current = emptyKongState();
    current.services = [service('a', 'appmesh:m/gw/a')];
    const desired = emptyKongState();
    desired.services = [{ ...service('a', 'appmesh:m/gw/a'), host: 'new.internal' }];
    const { state, kept } = keepFailed(current, desired, ['appmesh:m/gw/a']);
    expect(state.services).toEqual(desired.services);
    expect(kept).toEqual([]);
  });
});

describe('object tags and read failures', () => {
  it('round-trips object names through a Kong-valid tag (no / or ,)', () => {
    const object = 'cloudmap:ns.local/svc/instances/i-1/x,y%z';
    const tag = objectTag(object);
    expect(tag).not.toMatch(/[/,]/);
    expect(objectOfTags(['managed-by:meshgate', tag])).toBe(object);
  });

  it('maps each source failure to the translation object it stands for; a confirmed absence keeps nothing', () => {
    const of = (source: string, object: string, absent?: true) => objectOfReadFailure({ source, object, absent });
    expect(of('appmesh', 'mesh/m')).toBe('appmesh:m');
    expect(of('appmesh', 'mesh/m/virtualGateway/g')).toBe('appmesh:m/g');
    expect(of('appmesh', 'mesh/m/virtualGateway/g/gatewayRoute/r')).toBe('appmesh:m/g/r');
    expect(of('cloudmap', 'namespace/ns')).toBe('cloudmap:ns');
    expect(of('cloudmap', 'namespace/ns/service/s')).toBe('cloudmap:ns/s');
    expect(of('cloudmap', 'namespace/ns', true)).toBeUndefined();
  });
});

describe('holdParents (pure)', () => {
  it('keeps a parent with foreign children, and the parents of what it keeps', () => {
    const svc = service('svc', 'cloudmap:ns/svc');
    const route = normalizeEntity('route', {
      id: entityId(INSTANCE, 'route', 'svc'),
      name: 'svc',
      paths: ['/svc'],
      service: { id: svc.id },
      tags: ownershipTags(INSTANCE),
    });
    const other = service('other', 'cloudmap:ns/other');
    const current = emptyKongState();
    current.services = [svc, other];
    current.routes = [route];
    const planned = plan(diff(current, emptyKongState()));

    const { plan: held, held: parents } = holdParents(planned, new Map([[route.id, ['plugin acl x']]]));

    expect(planChanges(held).map((change) => `${change.action} ${change.kind} ${change.name}`)).toEqual([
      'delete service other',
    ]);
    expect(parents.map(({ kind, name, foreign }) => ({ kind, name, foreign }))).toEqual([
      { kind: 'route', name: 'svc', foreign: ['plugin acl x'] },
      { kind: 'service', name: 'svc', foreign: ['kept route svc'] },
    ]);
  });
});
