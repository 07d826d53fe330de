import { type AwsContext, AwsServiceError, type AwsServiceModule, jsonService } from '../protocol.js';
import type { S3Service } from './s3.js';

/**
 * CloudTrail (JSON 1.1, `CloudTrail_20131101`): the trails of one region, enough for meshgate's prerequisite (a
 * trail logging management events, without which EventBridge receives no "AWS API Call via CloudTrail" event) and
 * for `meshgate doctor` to check it. CreateTrail, DeleteTrail, DescribeTrails, GetTrailStatus, StartLogging,
 * StopLogging, GetEventSelectors, PutEventSelectors, as the API reference describes them: a new trail does not log
 * until StartLogging; its default selector logs all management events; a trail's bucket must exist (its bucket
 * policy is not checked). Multi-region trails of other regions (shadow trails) are not modelled: every trail's home
 * region is the double's.
 */
interface EventSelector {
  ReadWriteType: 'ReadOnly' | 'WriteOnly' | 'All';
  IncludeManagementEvents: boolean;
  DataResources: { Type?: string; Values?: string[] }[];
  ExcludeManagementEventSources: string[];
}

interface AdvancedEventSelector {
  Name?: string;
  FieldSelectors: Record<string, unknown>[];
}

interface Trail {
  name: string;
  arn: string;
  bucket: string;
  homeRegion: string;
  multiRegion: boolean;
  includeGlobalServiceEvents: boolean;
  logging: boolean;
  startedAt?: number;
  stoppedAt?: number;
  selectors: { basic: EventSelector[] } | { advanced: AdvancedEventSelector[] };
  customSelectors: boolean;
}

const TRAIL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$/;
const DEFAULT_SELECTOR: EventSelector = {
  ReadWriteType: 'All',
  IncludeManagementEvents: true,
  DataResources: [],
  ExcludeManagementEventSources: [],
};

const trailArn = (name: string, where: Pick<AwsContext, 'account' | 'region'>) =>
  `arn:aws:cloudtrail:${where.region}:${where.account}:trail/${name}`;

export interface CloudTrailService extends AwsServiceModule {
  /**
   * Whether a logging trail covering `region` records write management events: without one, AWS delivers no
   * "AWS API Call via CloudTrail" event to EventBridge.
   */
  recordsManagementWrites(region: string): boolean;
}

/** Basic selectors: management events included and not read-only; advanced: the Management category, not only reads. */
function selectsManagementWrites(selectors: Trail['selectors']): boolean {
  if ('basic' in selectors) {
    return selectors.basic.some(
      (selector) => selector.IncludeManagementEvents && selector.ReadWriteType !== 'ReadOnly',
    );
  }
  return selectors.advanced.some((selector) => {
    const field = (name: string) =>
      selector.FieldSelectors.find((candidate) => candidate.Field === name) as { Equals?: string[] } | undefined;
    return (
      field('eventCategory')?.Equals?.includes('Management') === true && !field('readOnly')?.Equals?.includes('true')
    );
  });
}

export function createCloudTrailService(): CloudTrailService {
  const trails = new Map<string, Trail>();

  /** A trail by name or ARN; CloudTrail answers TrailNotFoundException for any other. */
  function trailNamed(nameOrArn: unknown): Trail {
    if (typeof nameOrArn !== 'string' || nameOrArn === '') {
      throw new AwsServiceError('InvalidTrailNameException', 'Trail name or ARN can only contain letters, numbers…');
    }
    const name = nameOrArn.startsWith('arn:') ? (nameOrArn.split(':trail/')[1] ?? '') : nameOrArn;
    const trail = trails.get(name);
    if (!trail || (nameOrArn.startsWith('arn:') && trail.arn !== nameOrArn)) {
      throw new AwsServiceError('TrailNotFoundException', `Unknown trail: ${nameOrArn}`);
    }
    return trail;
  }

  function describe(trail: Trail): Record<string, unknown> {
    return {
      Name: trail.name,
      S3BucketName: trail.bucket,
      IncludeGlobalServiceEvents: trail.includeGlobalServiceEvents,
      IsMultiRegionTrail: trail.multiRegion,
      HomeRegion: trail.homeRegion,
      TrailARN: trail.arn,
      LogFileValidationEnabled: false,
      HasCustomEventSelectors: trail.customSelectors,
      HasInsightSelectors: false,
      IsOrganizationTrail: false,
    };
  }

  function create(input: Record<string, unknown>, context: AwsContext): Trail {
    const name = input.Name;
    if (typeof name !== 'string' || !TRAIL_NAME.test(name) || /[._-]{2}/.test(name)) {
      throw new AwsServiceError(
        'InvalidTrailNameException',
        'Trail name must start with a letter or number, end with a letter or number, be 3 to 128 characters of letters, numbers, periods, underscores and dashes, with no adjacent periods, underscores or dashes.',
      );
    }
    if (trails.has(name)) {
      throw new AwsServiceError(
        'TrailAlreadyExistsException',
        `Trail ${name} already exists for customer: ${context.account}`,
      );
    }
    const bucket = input.S3BucketName;
    if (typeof bucket !== 'string' || !context.service<S3Service>('s3').hasBucket(bucket)) {
      throw new AwsServiceError('S3BucketDoesNotExistException', `S3 bucket ${String(bucket)} does not exist.`);
    }
    const trail: Trail = {
      name,
      arn: trailArn(name, context),
      bucket,
      homeRegion: context.region,
      multiRegion: input.IsMultiRegionTrail === true,
      includeGlobalServiceEvents: input.IncludeGlobalServiceEvents !== false,
      logging: false,
      selectors: { basic: [DEFAULT_SELECTOR] },
      customSelectors: false,
    };
    trails.set(name, trail);
    return trail;
  }

  function putEventSelectors(input: Record<string, unknown>): object {
    const trail = trailNamed(input.TrailName);
    const { EventSelectors: basic, AdvancedEventSelectors: advanced } = input;
    if ((basic === undefined) === (advanced === undefined)) {
      throw new AwsServiceError(
        'InvalidParameterCombinationException',
        'You must specify either EventSelectors or AdvancedEventSelectors, but not both.',
      );
    }
    if (basic !== undefined) {
      if (!Array.isArray(basic) || basic.length > 5) {
        throw new AwsServiceError('InvalidEventSelectorsException', 'A trail can have up to 5 event selectors.');
      }
      const selectors = (basic as Partial<EventSelector>[]).map((selector): EventSelector => {
        const readWrite = selector.ReadWriteType ?? 'All';
        if (!['ReadOnly', 'WriteOnly', 'All'].includes(readWrite)) {
          throw new AwsServiceError('InvalidEventSelectorsException', `Invalid ReadWriteType: ${readWrite}`);
        }
        return {
          ReadWriteType: readWrite,
          IncludeManagementEvents: selector.IncludeManagementEvents ?? true,
          DataResources: selector.DataResources ?? [],
          ExcludeManagementEventSources: selector.ExcludeManagementEventSources ?? [],
        };
      });
      trail.selectors = { basic: selectors };
      trail.customSelectors = true;
      return { TrailARN: trail.arn, EventSelectors: selectors };
    }
    if (!Array.isArray(advanced) || advanced.length === 0) {
      throw new AwsServiceError('InvalidEventSelectorsException', 'AdvancedEventSelectors cannot be empty.');
    }
    trail.selectors = { advanced: advanced as AdvancedEventSelector[] };
    trail.customSelectors = true;
    return { TrailARN: trail.arn, AdvancedEventSelectors: advanced };
  }

  const service = jsonService(
    'cloudtrail',
    {
      CreateTrail: (input, context) => {
        // CreateTrail answers without HomeRegion and the selector flags.
        const { HomeRegion, HasCustomEventSelectors, HasInsightSelectors, ...created } = describe(
          create(input, context),
        );
        return created;
      },
      DeleteTrail: (input) => {
        trails.delete(trailNamed(input.Name).name);
        return {};
      },
      DescribeTrails: (input) => {
        const wanted = Array.isArray(input.trailNameList) ? (input.trailNameList as string[]) : undefined;
        const listed = wanted
          ? wanted.flatMap((nameOrArn) => {
              try {
                return [trailNamed(nameOrArn)];
              } catch {
                return []; // DescribeTrails leaves out names it does not know
              }
            })
          : [...trails.values()];
        return { trailList: listed.map(describe) };
      },
      GetTrailStatus: (input) => {
        const trail = trailNamed(input.Name);
        return {
          IsLogging: trail.logging,
          ...(trail.startedAt === undefined ? {} : { StartLoggingTime: trail.startedAt }),
          ...(trail.stoppedAt === undefined ? {} : { StopLoggingTime: trail.stoppedAt }),
          ...(trail.logging ? { LatestDeliveryTime: Math.floor(Date.now() / 1000) } : {}),
        };
      },
      StartLogging: (input) => {
        const trail = trailNamed(input.Name);
        trail.logging = true;
        trail.startedAt = Date.now() / 1000;
        return {};
      },
      StopLogging: (input) => {
        const trail = trailNamed(input.Name);
        trail.logging = false;
        trail.stoppedAt = Date.now() / 1000;
        return {};
      },
      GetEventSelectors: (input) => {
        const trail = trailNamed(input.TrailName);
        return 'basic' in trail.selectors
          ? { TrailARN: trail.arn, EventSelectors: trail.selectors.basic }
          : { TrailARN: trail.arn, AdvancedEventSelectors: trail.selectors.advanced };
      },
      PutEventSelectors: putEventSelectors,
    },
    () => trails.clear(),
    {
      // Every operation but DescribeTrails (authorized on "*" only) names one trail.
      resources: (_operation, input, where) =>
        [input.Name, input.TrailName]
          .filter((name): name is string => typeof name === 'string' && name !== '')
          .map((name) => (name.startsWith('arn:') ? name : trailArn(name, where))),
    },
  );
  return Object.assign(service, {
    recordsManagementWrites: (region: string) =>
      [...trails.values()].some(
        (trail) =>
          trail.logging &&
          (trail.multiRegion || trail.homeRegion === region) &&
          selectsManagementWrites(trail.selectors),
      ),
  });
}
