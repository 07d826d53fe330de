import { randomUUID } from 'node:crypto';
import { AwsServiceError, PagedCollection } from '../../protocol.js';

/** One App Mesh resource kind: how its operations, members and ARN are named, and what its spec refers to. */
export interface ResourceKind {
  /** The noun in operation names: `CreateVirtualGateway` → `VirtualGateway`. */
  readonly noun: string;
  /** The noun in `List*` operation names. */
  readonly plural: string;
  /** lowerCamel noun: output member (`virtualGateway`) and ARN segment. */
  readonly member: string;
  /** The kind whose resources own this kind's (routes → virtual router); mesh-level kinds name `Mesh`. */
  readonly parent?: ResourceKind;
  /** Other resources of the same mesh a spec refers to: deleting them is refused while referenced. */
  readonly references?: (spec: Spec) => Array<{ kind: ResourceKind; name: string }>;
}

type Spec = Record<string, unknown>;

export interface Resource {
  readonly kind: ResourceKind;
  readonly meshName: string;
  readonly parentName: string | undefined;
  readonly name: string;
  spec: Spec;
  clientToken: string | undefined;
  readonly arn: string;
  readonly uid: string;
  readonly createdAt: number;
  lastUpdatedAt: number;
  version: number;
}

const MESH: ResourceKind = { noun: 'Mesh', plural: 'Meshes', member: 'mesh' };
const VIRTUAL_NODE: ResourceKind = { noun: 'VirtualNode', plural: 'VirtualNodes', member: 'virtualNode', parent: MESH };
const VIRTUAL_ROUTER: ResourceKind = {
  noun: 'VirtualRouter',
  plural: 'VirtualRouters',
  member: 'virtualRouter',
  parent: MESH,
};
const VIRTUAL_SERVICE: ResourceKind = {
  noun: 'VirtualService',
  plural: 'VirtualServices',
  member: 'virtualService',
  parent: MESH,
  references: (spec) => {
    const provider = (spec.provider ?? {}) as Record<string, { virtualNodeName?: string; virtualRouterName?: string }>;
    return [
      ...(provider.virtualNode?.virtualNodeName
        ? [{ kind: VIRTUAL_NODE, name: provider.virtualNode.virtualNodeName }]
        : []),
      ...(provider.virtualRouter?.virtualRouterName
        ? [{ kind: VIRTUAL_ROUTER, name: provider.virtualRouter.virtualRouterName }]
        : []),
    ];
  },
};
const VIRTUAL_GATEWAY: ResourceKind = {
  noun: 'VirtualGateway',
  plural: 'VirtualGateways',
  member: 'virtualGateway',
  parent: MESH,
};

export const KINDS: readonly ResourceKind[] = [
  MESH,
  VIRTUAL_SERVICE,
  VIRTUAL_NODE,
  VIRTUAL_ROUTER,
  VIRTUAL_GATEWAY,
  { noun: 'Route', plural: 'Routes', member: 'route', parent: VIRTUAL_ROUTER },
  {
    noun: 'GatewayRoute',
    plural: 'GatewayRoutes',
    member: 'gatewayRoute',
    parent: VIRTUAL_GATEWAY,
    references: (spec) =>
      ['httpRoute', 'http2Route', 'grpcRoute'].flatMap((protocol) => {
        const route = spec[protocol] as { action?: { target?: { virtualService?: { virtualServiceName?: string } } } };
        const name = route?.action?.target?.virtualService?.virtualServiceName;
        return name ? [{ kind: VIRTUAL_SERVICE, name }] : [];
      }),
  },
];

export const nameMember = (kind: ResourceKind): string => `${kind.member}Name`;

/** The router or gateway that owns routes and gateway routes; none for mesh-level kinds. */
export const ownerKind = (kind: ResourceKind): ResourceKind | undefined =>
  kind.parent?.parent ? kind.parent : undefined;

/** Where a resource lives: its mesh, and for routes and gateway routes the router or gateway that owns them. */
export interface Address {
  meshName: string;
  parentName?: string | undefined;
  name: string;
}

/**
 * All App Mesh resources, keyed by kind, mesh, parent and name; each parent's children form one paged collection,
 * so describe and list are O(1) and O(page). References between resources are counted, so a delete refused because
 * something still points at its target costs O(1) too.
 */
export class ResourceStore {
  private readonly collections = new Map<string, PagedCollection<Resource>>();
  private readonly byArn = new Map<string, Resource>();
  private readonly referrers = new Map<string, Set<string>>();
  readonly tags = new Map<string, PagedCollection<{ key: string; value: string }>>();

  constructor(
    private readonly account: () => string,
    private readonly region: () => string,
  ) {}

  clear(): void {
    this.collections.clear();
    this.byArn.clear();
    this.referrers.clear();
    this.tags.clear();
  }

  byResourceArn(arn: string): Resource | undefined {
    return this.byArn.get(arn);
  }

  /** The collection of `kind` under a parent; NotFound when the mesh or the parent does not exist. */
  collection(kind: ResourceKind, meshName: string, parentName: string | undefined): PagedCollection<Resource> {
    this.requireParents(kind, meshName, parentName);
    return this.collectionAt(kind, meshName, parentName);
  }

  get(kind: ResourceKind, address: Address): Resource {
    this.requireParents(kind, address.meshName, address.parentName);
    const resource = this.find(kind, address);
    if (!resource) throw notFound(kind, address);
    return resource;
  }

  create(kind: ResourceKind, address: Address, spec: Spec, clientToken: string | undefined): Resource {
    const collection = this.collection(kind, address.meshName, address.parentName);
    const existing = collection.get(address.name);
    if (existing) {
      // A retried create (same client token, same spec) answers the resource it made the first time.
      if (clientToken && existing.clientToken === clientToken && sameSpec(existing.spec, spec)) return existing;
      throw new AwsServiceError('ConflictException', `${describe(kind, address)} already exists.`, 409);
    }
    const now = Date.now() / 1000;
    const resource: Resource = {
      kind,
      meshName: address.meshName,
      parentName: kind.parent === MESH ? undefined : address.parentName,
      name: address.name,
      spec: structuredClone(spec),
      clientToken,
      arn: this.arnOf(kind, address),
      uid: randomUUID(),
      createdAt: now,
      lastUpdatedAt: now,
      version: 1,
    };
    collection.set(address.name, resource);
    this.byArn.set(resource.arn, resource);
    this.link(resource, +1);
    return resource;
  }

  update(kind: ResourceKind, address: Address, spec: Spec, clientToken: string | undefined): Resource {
    const resource = this.get(kind, address);
    this.link(resource, -1);
    resource.spec = structuredClone(spec);
    resource.clientToken = clientToken;
    resource.version += 1;
    resource.lastUpdatedAt = Date.now() / 1000;
    this.link(resource, +1);
    return resource;
  }

  delete(kind: ResourceKind, address: Address): Resource {
    const resource = this.get(kind, address);
    const users = this.referrers.get(this.referenceKey(kind, address.meshName, address.name));
    if (users?.size) {
      throw inUse(kind, address, `it is referenced by ${[...users].slice(0, 3).join(', ')}`);
    }
    for (const child of KINDS.filter((candidate) => candidate.parent === kind)) {
      const children = this.collectionAt(child, address.meshName, kind === MESH ? undefined : address.name);
      if (children.size > 0) throw inUse(kind, address, `it still has ${children.size} ${child.member} resource(s)`);
    }
    this.link(resource, -1);
    this.collectionAt(kind, address.meshName, resource.parentName).delete(address.name);
    this.byArn.delete(resource.arn);
    this.tags.delete(resource.arn);
    return resource;
  }

  /** NotFound for the first missing ancestor: the mesh, then the router or gateway. */
  private requireParents(kind: ResourceKind, meshName: string, parentName: string | undefined): void {
    if (!kind.parent) return;
    if (!this.find(MESH, { meshName, name: meshName })) throw notFound(MESH, { meshName, name: meshName });
    if (kind.parent !== MESH && !this.find(kind.parent, { meshName, name: parentName ?? '' })) {
      throw notFound(kind.parent, { meshName, name: parentName ?? '' });
    }
  }

  private find(kind: ResourceKind, address: Address): Resource | undefined {
    return this.collections.get(this.collectionKey(kind, address.meshName, address.parentName))?.get(address.name);
  }

  private collectionAt(
    kind: ResourceKind,
    meshName: string,
    parentName: string | undefined,
  ): PagedCollection<Resource> {
    const key = this.collectionKey(kind, meshName, parentName);
    let collection = this.collections.get(key);
    if (!collection) {
      collection = new PagedCollection<Resource>();
      this.collections.set(key, collection);
    }
    return collection;
  }

  private collectionKey(kind: ResourceKind, meshName: string, parentName: string | undefined): string {
    if (kind === MESH) return 'Mesh';
    return [kind.noun, meshName, kind.parent === MESH ? '' : (parentName ?? '')].join('\u0000');
  }

  private referenceKey(kind: ResourceKind, meshName: string, name: string): string {
    return [kind.noun, meshName, name].join('\u0000');
  }

  /** Adds (+1) or removes (-1) the resource as a referrer of everything its spec names. */
  private link(resource: Resource, direction: 1 | -1): void {
    for (const target of resource.kind.references?.(resource.spec) ?? []) {
      const key = this.referenceKey(target.kind, resource.meshName, target.name);
      const users = this.referrers.get(key) ?? new Set<string>();
      if (direction > 0) users.add(resource.arn);
      else users.delete(resource.arn);
      if (users.size) this.referrers.set(key, users);
      else this.referrers.delete(key);
    }
  }

  private arnOf(kind: ResourceKind, address: Address): string {
    const mesh = `arn:aws:appmesh:${this.region()}:${this.account()}:mesh/${address.meshName}`;
    if (kind === MESH) return mesh;
    if (kind.parent === MESH) return `${mesh}/${kind.member}/${address.name}`;
    return `${mesh}/${kind.parent?.member}/${address.parentName}/${kind.member}/${address.name}`;
  }
}

function sameSpec(a: Spec, b: Spec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describe(kind: ResourceKind, address: Address): string {
  const parent = kind.parent && kind.parent !== MESH ? ` of ${kind.parent.member} '${address.parentName}'` : '';
  const mesh = kind === MESH ? '' : ` in mesh '${address.meshName}'`;
  return `${kind.member} '${address.name}'${parent}${mesh}`;
}

function notFound(kind: ResourceKind, address: Address): AwsServiceError {
  return new AwsServiceError('NotFoundException', `${describe(kind, address)} does not exist.`, 404);
}

function inUse(kind: ResourceKind, address: Address, reason: string): AwsServiceError {
  return new AwsServiceError('ResourceInUseException', `Cannot delete ${describe(kind, address)}: ${reason}.`, 409);
}
