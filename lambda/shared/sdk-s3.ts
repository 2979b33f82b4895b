// The part of @aws-sdk/client-s3 the functions use. The functions load each AWS SDK client on first
// use with a dynamic import(); esbuild cannot tree-shake the namespace of a package imported that way
// and bundles every command of it (all 112 of S3, 62 of DynamoDB, their schemas and the aggregated
// client): importing these modules instead, which name what is used, keeps the rest out of the
// chunks a cold container compiles (lib/lambda-bundle.ts). Import the SDK dynamically only through
// lambda/shared/sdk-*.ts.
export { S3Client, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
