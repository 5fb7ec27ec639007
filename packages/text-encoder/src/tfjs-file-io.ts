/**
 * A tfjs IO handler that reads a tfjs-converter graph model (`model.json` + weight shards) from
 * the local disk: no network, no fetch, no `file://` router needed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { io } from '@tensorflow/tfjs-core';

/**
 * An IO handler for `tf.loadGraphModel(fileIOHandler('/path/model.json'))`. Reads the model
 * topology and every shard listed in the weights manifest (relative to the model.json folder).
 * @throws Error naming the file when model.json or a shard is missing or malformed.
 */
export function fileIOHandler(modelJsonPath: string): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      const dir = path.dirname(modelJsonPath);
      let json: {
        modelTopology?: unknown; weightsManifest?: io.WeightsManifestConfig; format?: string;
        generatedBy?: string; convertedBy?: string | null; signature?: unknown; userDefinedMetadata?: {};
        modelInitializer?: {};
      };
      try {
        json = JSON.parse(await fs.promises.readFile(modelJsonPath, 'utf8'));
      } catch (err) {
        throw new Error(`cannot read tfjs model ${modelJsonPath}: ${(err as Error).message}`, { cause: err });
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new Error(`${modelJsonPath} is not a tfjs graph model (no modelTopology/weightsManifest)`);
      }
      const weightSpecs: io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) {
          const file = path.join(dir, p);
          try {
            buffers.push(await fs.promises.readFile(file));
          } catch (err) {
            throw new Error(`cannot read weight shard ${file}: ${(err as Error).message}`, { cause: err });
          }
        }
      }
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      return {
        modelTopology: json.modelTopology as {},
        weightSpecs,
        weightData,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
        signature: json.signature as {} | undefined,
        userDefinedMetadata: json.userDefinedMetadata,
        modelInitializer: json.modelInitializer,
      };
    },
  };
}
