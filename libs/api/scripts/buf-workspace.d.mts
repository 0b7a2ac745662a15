// Types for buf-workspace.mjs (plain JS so that Nx targets run it with node, no build step).

/** A throw-away buf workspace over a proto tree. */
export interface BufWorkspace {
  dir: string;
  buf(args: string[]): string;
  dispose(): void;
}

/** A FileDescriptorSet in protobuf-JSON form (only the parts our tooling reads are typed). */
export interface DescriptorSetJson {
  file: FileDescriptorJson[];
}
export interface FileDescriptorJson {
  name: string;
  package?: string;
  messageType?: MessageDescriptorJson[];
  enumType?: EnumDescriptorJson[];
  service?: ServiceDescriptorJson[];
}
export interface MessageDescriptorJson {
  name: string;
  field?: FieldDescriptorJson[];
  nestedType?: MessageDescriptorJson[];
  enumType?: EnumDescriptorJson[];
  oneofDecl?: { name: string }[];
  options?: { mapEntry?: boolean };
}
export interface FieldDescriptorJson {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName?: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
}
export interface EnumDescriptorJson {
  name: string;
  value?: { name: string; number: number }[];
}
export interface ServiceDescriptorJson {
  name: string;
  method?: {
    name: string;
    inputType: string;
    outputType: string;
    clientStreaming?: boolean;
    serverStreaming?: boolean;
  }[];
}

export const libDir: string;
export const protoDir: string;
export const googleProtoDir: string;
export function googleImportsOf(files: string[]): string[];
export function createBufWorkspace(sourceDir?: string): BufWorkspace;
export function buildImage(sourceDir?: string): DescriptorSetJson;
export const opiExtReleaseImage: string;
export function buildOpiExtImage(out: string, sourceDir?: string): void;
export function opiExtBreakingChanges(sourceDir?: string, against?: string): string[];
export function opiExtLintFindings(sourceDir?: string): string[];
